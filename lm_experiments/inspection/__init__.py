"""What happens inside the models, as numbers and pictures (`lm-inspect`, and the end-of-training callbacks).

- `attention.py`: a Transformer's attention weights, and per head its mean attention distance and entropy.
- `positions.py`: a positional-encoding table's cosine similarities, and how well PE(pos + k) is a fixed linear
  map of PE(pos).
- `gradient_flow.py`: the norm of d loss_T / d h_{T-k} back through time in an RNN/GRU/LSTM.
- `figures.py` draws them (headless PNGs, written atomically); `head_view.py` writes the self-contained HTML
  head view.

A part: it reads the models' declared interfaces and imports no task, run module or CLI.
"""
