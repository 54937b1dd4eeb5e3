"""A bertviz-style head view (Vig 2019) as one self-contained HTML page: no script or font is fetched, so the
file opens offline and can be mailed or committed.

Tokens stand in two columns, queries on the left and keys on the right; a line from query i
to key j per head, in the head's colour, as opaque as the weight. Pick the layer; tick the
heads to show; hover a query to see only its attention.
"""

import json
from pathlib import Path

import torch

from lm_experiments.files import atomic_write

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body { font-family: sans-serif; margin: 1.5em; }
#controls { margin-bottom: 0.8em; }
#controls label { margin-right: 0.6em; }
text { font-size: 13px; cursor: default; }
</style></head>
<body>
<h3>__TITLE__</h3>
<div id="controls">layer <select id="layer"></select> <span id="heads"></span></div>
<svg id="view"></svg>
<p style="color:#666;font-size:12px">Queries on the left attend to keys on the right (each row of weights sums to 1;
a causal model never attends to later tokens). Hover a query to see only its attention.</p>
<script>
const data = __DATA__;
const colours = ["#1f77b4","#ff7f0e","#2ca02c","#d62728","#9467bd","#8c564b","#e377c2","#7f7f7f","#bcbd22",
                 "#17becf"];
const rowHeight = 20, left = 10, width = 140, gap = 260;
const svg = document.getElementById("view");
const layerSelect = document.getElementById("layer");
const headsBox = document.getElementById("heads");
const shown = data.attention[0].map(() => true);
let focus = null;
data.attention.forEach((_, layer) => {
  const option = document.createElement("option");
  option.value = layer; option.textContent = layer + 1; layerSelect.appendChild(option);
});
shown.forEach((_, head) => {
  const label = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox"; box.checked = true;
  box.onchange = () => { shown[head] = box.checked; draw(); };
  label.appendChild(box);
  label.appendChild(document.createTextNode(" head " + (head + 1)));
  label.style.color = colours[head % colours.length];
  headsBox.appendChild(label);
});
layerSelect.onchange = draw;
function element(name, attributes) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", name);
  for (const key in attributes) node.setAttribute(key, attributes[key]);
  return node;
}
function draw() {
  const layer = Number(layerSelect.value);
  const n = data.tokens.length;
  svg.setAttribute("width", left + 2 * width + gap);
  svg.setAttribute("height", (n + 1) * rowHeight);
  svg.replaceChildren();
  const heads = data.attention[layer];
  heads.forEach((weights, head) => {
    if (!shown[head]) return;
    weights.forEach((row, query) => {
      if (focus !== null && focus !== query) return;
      row.forEach((weight, key) => {
        if (weight < 0.01) return;
        svg.appendChild(element("line", {x1: left + width, y1: (query + 0.75) * rowHeight,
          x2: left + width + gap, y2: (key + 0.75) * rowHeight, stroke: colours[head % colours.length],
          "stroke-width": 2, "stroke-opacity": Math.min(1, weight)}));
      });
    });
  });
  data.tokens.forEach((token, i) => {
    const query = element("text", {x: left + width - 6, y: (i + 1) * rowHeight, "text-anchor": "end"});
    query.textContent = token;
    query.onmouseenter = () => { focus = i; draw(); };
    query.onmouseleave = () => { focus = null; draw(); };
    if (focus === i) query.setAttribute("font-weight", "bold");
    svg.appendChild(query);
    const key = element("text", {x: left + width + gap + 6, y: (i + 1) * rowHeight});
    key.textContent = token;
    svg.appendChild(key);
  });
}
draw();
</script></body></html>
"""


def write_head_view(maps: torch.Tensor, tokens: list[str], path: Path, title: str) -> Path:
    """maps (layers, heads, T, T) of one text -> the HTML page (weights rounded to 4 places)."""
    data = {"tokens": tokens, "attention": maps.detach().cpu().double().numpy().round(4).tolist()}
    text = json.dumps(data).replace("</", "<\\/")  # a token like "</script>" cannot end the script
    page = PAGE.replace("__TITLE__", _escape(title)).replace("__DATA__", text)
    with atomic_write(path) as handle:
        handle.write(page)
    return Path(path)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
