#!/usr/bin/env bash
# Every GPU figure the speed issue asks for, in one call to a lent GPU machine (the device tool's `run`).
#
# The device image has PyTorch, Lightning, Triton, Numba and SciPy but not Hydra, OmegaConf or gensim, and
# cannot download. So, here, once per checkout (downloads four wheels, builds one, copies two corpora):
#
#     bash benchmarks/gpu_session.sh prepare          # fills .gpu_kit/ (ignored by git; about 35 MB)
#
# then one device call that carries it (each step has its own time limit, and all of them 570 s):
#
#     run(command="bash benchmarks/gpu_session.sh", carry=[".gpu_kit"], timeout_s=600)
#
# Steps: kernels, sweep, skipgram, cbow, zaremba, transformer, tax (all but cbow by default; name some to run
# only those). `tax` runs the LSTM and Transformer rows of benchmarks/time_to_result.py on the device against
# their peers (the PyTorch word-language-model example and nanoGPT, copied into the kit by `prepare` from clones
# in /tmp/peers, or $EXAMPLES and $NANOGPT). The sweep times the kernel alone over chunk sizes and launch shapes; skip-gram then runs end to end
# against gensim with the fastest.
# It prints the figures last and writes every step's log under $OUT. `GPU_SESSION_DRY=1 bash
# benchmarks/gpu_session.sh` runs the same steps on this machine's CPU for a few seconds each (CPU kernel,
# tiny limits), to check the commands before device time is spent on them.
set -uo pipefail
cd "$(dirname "$0")/.."
KIT=.gpu_kit

if [[ "${1:-}" == "prepare" ]]; then
    set -e
    rm -rf "$KIT/data" && mkdir -p "$KIT/wheels" "$KIT/data"
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d "$KIT/wheels" \
        gensim==4.4.0 hydra-core==1.3.8 omegaconf==2.3.1 smart_open==9.0.4
    python3 -m pip wheel -q --no-deps -w "$KIT/wheels" antlr4-python3-runtime==4.9.3  # sdist only: pure Python
    cp ../shared/data/text8-head.txt.gz "$KIT/data/"
    cp -r ../shared/data/ptb "$KIT/data/" && chmod -R u+w "$KIT/data"
    # the peers of the framework-tax rows (their sources only, run from the kit, never part of the project)
    rm -rf "$KIT/peers" && mkdir -p "$KIT/peers/examples"
    cp -r "${EXAMPLES:-/tmp/peers/examples}/word_language_model" "$KIT/peers/examples/"
    mkdir -p "$KIT/peers/nanoGPT" && cp "${NANOGPT:-/tmp/peers/nanoGPT}"/{train.py,model.py,configurator.py} \
        "$KIT/peers/nanoGPT/"
    du -sh "$KIT"
    exit 0
fi

OUT=${OUT:-/tmp/gpu_session}
mkdir -p "$OUT" && rm -f "$OUT/steps.txt"
export PYTHONUNBUFFERED=1
if [[ -n "${GPU_SESSION_DRY:-}" ]]; then   # the same commands on the CPU, a few seconds each
    DEVICE=cpu UPDATER=fused EPOCHS=1 SHORT=00:00:00:05 LONG=00:00:00:05 LIMIT=120 THREADS=2
    EXTRA="trainer.limit_val_batches=20 trainer.limit_test_batches=20 hydra.run.dir=$OUT/runs/"'${now:%H%M%S%f}'
    KERNEL_TESTS="tests/test_kernels_gpu.py -k one_program -x"
    SWEEP="--device cpu --dim 8 --words 200 --centers 4 --warps 1 --repeat 1"
    # what the device image lacks and the kit does not bring must not be needed: refuse to import it
    mkdir -p "$OUT/absent" && cat >"$OUT/absent/sitecustomize.py" <<'PY'
import sys
sys.modules.update(dict.fromkeys(["wandb", "pooch", "datasets", "kenlm", "optuna", "submitit", "hydra_plugins"]))
PY
    export PYTHONPATH=$OUT/absent${PYTHONPATH:+:$PYTHONPATH}
else
    DEVICE=gpu UPDATER=fused_gpu EPOCHS=5 SHORT=00:00:00:45 LONG=00:00:03:00 LIMIT=150 THREADS=$(nproc)
    KERNEL_TESTS="tests/test_kernels_gpu.py" EXTRA=""
    SWEEP="--words 262144 1048576 --centers 4 16 64 --warps 1 4"
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        "$KIT"/wheels/*.whl || exit 1
    export PYTHONPATH=/tmp/site:$PWD
    nvidia-smi -L
fi
python3 -c "import torch, triton, lightning; print('torch', torch.__version__, 'triton', triton.__version__,
'lightning', lightning.__version__, 'cuda', torch.cuda.is_available())"
DATA=$KIT/data
[[ -d "$DATA" ]] || DATA=../shared/data   # a dry run before `prepare`

BUDGET=${GPU_SESSION_BUDGET:-570}   # seconds for all steps: inside the device call's 600, with the summary
step() {  # step NAME SECONDS COMMAND...: run with a time limit (and within BUDGET), log to $OUT/NAME.log
    local name=$1 seconds=$2
    shift 2
    local left=$((BUDGET - SECONDS - 10))
    if ((left < 20)); then
        echo "$name: skipped, the budget is spent" >>"$OUT/steps.txt"
        return
    fi
    local started=$SECONDS
    timeout "$((seconds < left ? seconds : left))" "$@" >"$OUT/$name.log" 2>&1
    echo "$name: exit $? after $((SECONDS - started)) s" >>"$OUT/steps.txt"
}

STEPS=${*:-kernels sweep skipgram tax zaremba transformer}   # a subset, in this order: gpu_session.sh zaremba
wants() { [[ " $STEPS " == *" $1 "* ]]; }

# The Triton kernels on the GPU equal the autograd reference (the same tests CI runs in the interpreter).
wants kernels && step kernels 90 python3 -m pytest -q -p no:cacheprovider $KERNEL_TESTS
# The kernel alone over chunk size x centers per program x warps; the fastest setting is used below.
KNOBS=()
if wants sweep; then
    step sweep 90 python3 benchmarks/gpu_kernel_sweep.py --corpus "$DATA/text8-head.txt.gz" $SWEEP
    best=$(awk 'NF == 7 && $1 ~ /^[0-9,]+$/ { gsub(",", "", $1); gsub(",", "", $6);
                if ($6 + 0 > fastest + 0) { fastest = $6 + 0; setting = $1 " " $2 " " $3 } }
                END { print setting }' "$OUT/sweep.log")
    if [[ -n "$best" && -z "${GPU_SESSION_DRY:-}" ]]; then
        read -r words centers warps <<<"$best"
        KNOBS=("data.batch_words=$words" "task.updater.centers_per_program=$centers" "task.updater.warps=$warps")
    fi
fi
# Our Triton kernel against gensim on every core, text8-head (cbow: the other loop).
for model in skipgram cbow; do
    wants $model && step "$model" "$LIMIT" python3 benchmarks/word2vec_vs_gensim.py \
        --corpus "$DATA/text8-head.txt.gz" --epochs "$EPOCHS" --dim 200 --model "$model" --device "$DEVICE" \
        --updater "$UPDATER" --threads "$THREADS" callbacks.embedding_map=null callbacks.model_checkpoint=null \
        callbacks.last_checkpoint=null "${KNOBS[@]}"
done
# The framework tax on the device: LSTM (1 epoch) and Transformer (--steps) against their peers, side by side.
if [[ -n "${GPU_SESSION_DRY:-}" ]]; then TAX="--rows transformer --steps 3"; else TAX="--rows lstm,transformer --steps 300"; fi
wants tax && step tax 200 python3 benchmarks/time_to_result.py --epochs 1 --device "$DEVICE" $TAX \
    --ptb "$DATA/ptb" --examples "$KIT/peers/examples" --nanogpt "$KIT/peers/nanoGPT" --work "$OUT/tax"
# Zaremba medium on PTB: the test perplexity reached in 3 minutes, and tokens/s (929k per epoch; the target:
# <= 83 in under 5 minutes).
wants zaremba && step zaremba 220 python3 train.py experiment=zaremba_medium_ptb "data.path=$DATA/ptb" \
    "trainer.accelerator=$DEVICE" "+trainer.max_time=$LONG" callbacks.progress_bar=null $EXTRA
# The Transformer preset in bf16: tokens/s over 45 seconds of training.
wants transformer && step transformer 90 python3 train.py experiment=transformer_ptb "data.path=$DATA/ptb" \
    "trainer.accelerator=$DEVICE" trainer.precision=bf16-mixed "+trainer.max_time=$SHORT" \
    callbacks.progress_bar=null $EXTRA

echo
cat "$OUT/steps.txt"
wants kernels && tail -n 3 "$OUT/kernels.log"
wants sweep && cat "$OUT/sweep.log" && echo "end to end with: ${KNOBS[*]:-the defaults}"
for model in skipgram cbow; do
    wants $model && sed -n '/ on .*words, /,$p' "$OUT/$model.log"
done
for run in zaremba transformer; do
    wants $run && echo "$run:" && grep -E "│ ((test|val)/ppl|train/words_per_sec(_mean)?) " "$OUT/$run.log"
done
wants tax && grep -E "^\|" "$OUT/tax.log"
exit 0
