# A GPT-2 written in plain torch after transformers 4.x's GPT-2 with eager attention (a causal
# `bias` buffer of max_positions² sliced by the query and key lengths, torch.where with
# finfo.min, softmax, tanh GELU), random weights at GPT-2's initialisation scale, exported by
# torch.onnx.export (TorchScript exporter, opset 14): a graph this project did not build, of the
# form GPT-2 exports from transformers 4.x have. Beside it, references computed by torch:
# - torch_layer_<i>.npy: its own probabilities [heads, n, n] float32 for the ids
#   (i * 7919) % vocab, i < tokens, of the layers in --layers-kept (default the first and last);
#   with --rows r1,r2,... only those query rows ([heads, rows, n]);
# - torch_stats.json: docs/views.md's per-head statistics of every layer, from those
#   probabilities in float64 ({"layers": [{"entropy": [...], ...}, ...]}, stats.json's layout).
#
# Usage: python3 export_torch_gpt2.py <out folder> <tokens> [--shape layers,heads,hidden,vocab]
#        [--max-positions N] [--rows r1,r2,...] [--scale S]
# --scale multiplies the weights' standard deviation: small models need it for peaked heads.
# Default shape 12,12,768,512: the capture bench's (bench/torchExport.bench.ts). Needs torch and
# numpy (Debian: apt-get install python3-torch). Writes model.onnx, the references, meta.json.
import argparse
import json
import os
import warnings

import numpy as np
import torch
from torch import nn


class Attention(nn.Module):
    def __init__(self, hidden, heads, max_positions):
        super().__init__()
        self.hidden, self.heads = hidden, heads
        self.c_attn = nn.Linear(hidden, 3 * hidden)
        self.c_proj = nn.Linear(hidden, hidden)
        self.register_buffer('bias', torch.tril(torch.ones(max_positions, max_positions, dtype=torch.bool)).view(1, 1, max_positions, max_positions), persistent=False)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(self.hidden, dim=2)
        split = lambda z: z.view(b, t, self.heads, c // self.heads).permute(0, 2, 1, 3)
        q, k, v = split(q), split(k), split(v)
        w = torch.matmul(q, k.transpose(-1, -2)) / (v.size(-1) ** 0.5)
        ql, kl = q.size(-2), k.size(-2)
        mask = self.bias[:, :, kl - ql:kl, :kl]
        w = torch.where(mask, w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
        p = nn.functional.softmax(w, dim=-1)
        o = torch.matmul(p, v).permute(0, 2, 1, 3).contiguous().view(b, t, c)
        return self.c_proj(o), p


class Block(nn.Module):
    def __init__(self, hidden, heads, max_positions):
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden)
        self.attn = Attention(hidden, heads, max_positions)
        self.ln_2 = nn.LayerNorm(hidden)
        self.c_fc = nn.Linear(hidden, 4 * hidden)
        self.c_proj = nn.Linear(4 * hidden, hidden)

    def forward(self, x):
        a, p = self.attn(self.ln_1(x))
        x = x + a
        h = self.c_fc(self.ln_2(x))
        h = 0.5 * h * (1.0 + torch.tanh((2.0 / torch.pi) ** 0.5 * (h + 0.044715 * torch.pow(h, 3.0))))
        return x + self.c_proj(h), p


class Gpt2(nn.Module):
    def __init__(self, layers, hidden, heads, vocab, max_positions):
        super().__init__()
        self.wte = nn.Embedding(vocab, hidden)
        self.wpe = nn.Embedding(max_positions, hidden)
        self.h = nn.ModuleList([Block(hidden, heads, max_positions) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(hidden)

    def forward(self, input_ids):
        positions = torch.arange(input_ids.size(-1), dtype=torch.long).unsqueeze(0)
        x = self.wte(input_ids) + self.wpe(positions)
        probs = []
        for block in self.h:
            x, p = block(x)
            probs.append(p)
        return torch.matmul(self.ln_f(x), self.wte.weight.t()), probs


class LogitsOnly(nn.Module):
    """What the export holds: logits only, as a real one would."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model(input_ids)[0]


def stats(p):
    """docs/views.md's per-head figures of one layer [heads, n, n], float64: means over query rows."""
    p = p.astype(np.float64)
    n = p.shape[1]
    q = np.arange(n)
    plogp = p * np.log(np.where(p > 0, p, 1.0))
    return {
        'entropy': (-plogp.sum(axis=2)).mean(axis=1).tolist(),
        'distance': (p * np.abs(q[:, None] - q[None, :])).sum(axis=2).mean(axis=1).tolist(),
        'first': p[:, :, 0].mean(axis=1).tolist(),
        'previous': p[:, q[1:], q[1:] - 1].mean(axis=1).tolist(),
        'self': p[:, q, q].mean(axis=1).tolist(),
    }


def main():
    # The tracer's note on torch.tensor(finfo.min) becoming a constant: that is what is meant.
    warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('tokens', type=int)
    ap.add_argument('--shape', default='12,12,768,512')
    ap.add_argument('--max-positions', type=int, default=0)
    ap.add_argument('--rows', default='')
    ap.add_argument('--layers-kept', default='')
    ap.add_argument('--scale', type=float, default=1.0)
    a = ap.parse_args()
    layers, heads, hidden, vocab = (int(x) for x in a.shape.split(','))
    n = a.tokens
    max_positions = a.max_positions or max(n, 1024)
    kept = [int(x) for x in a.layers_kept.split(',')] if a.layers_kept else sorted({0, layers - 1})
    rows = [int(x) for x in a.rows.split(',')] if a.rows else None
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    model = Gpt2(layers, hidden, heads, vocab, max_positions).eval()
    with torch.no_grad():
        for name, w in model.named_parameters():
            if w.dim() == 2:
                w.normal_(0.0, (0.01 if 'wpe' in name else 0.02) * a.scale)
    ids = torch.tensor([[(i * 7919) % vocab for i in range(n)]])
    with torch.no_grad():
        _, probs = model(ids)
        all_stats = []
        for i, p in enumerate(probs):
            p = p[0].float().numpy()
            all_stats.append(stats(p))
            if i in kept:
                np.save(os.path.join(a.out, f'torch_layer_{i}.npy'), p if rows is None else np.ascontiguousarray(p[:, rows, :]))
        # Written under a temporary name, then renamed: an interrupted export leaves no model.onnx.
        partial = os.path.join(a.out, f'.model.onnx.partial-{os.getpid()}')
        torch.onnx.export(LogitsOnly(model), (ids[:, :8],), partial, input_names=['input_ids'], output_names=['logits'],
                          dynamic_axes={'input_ids': {0: 'batch', 1: 'sequence'}, 'logits': {0: 'batch', 1: 'sequence'}}, opset_version=14)
        os.replace(partial, os.path.join(a.out, 'model.onnx'))
    with open(os.path.join(a.out, 'torch_stats.json'), 'w') as f:
        json.dump({'layers': all_stats}, f)
    meta = {'tokens': n, 'vocab': vocab, 'layers': layers, 'heads': heads, 'hidden': hidden, 'max_positions': max_positions,
            'layers_kept': kept, 'rows': rows, 'scale': a.scale, 'torch': torch.__version__}
    with open(os.path.join(a.out, 'meta.json'), 'w') as f:
        json.dump(meta, f)


if __name__ == '__main__':
    main()
