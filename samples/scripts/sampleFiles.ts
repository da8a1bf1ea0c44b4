/**
 * Every file the sample generator writes, as bytes keyed by path relative to samples/. Kept
 * apart from make-samples.ts so tests can rebuild in memory and compare with the committed files.
 */
import { buildTinyGpt, HEADS, LAYERS, tinyGptLayout } from './tinyGptModel';
import { INDUCTION_TEXT, longText } from './sampleTexts';
import { BOS_ID, tokenizerConfigJson, tokenizerJson } from './tinyGptTokenizer';

const utf8 = (s: string) => new TextEncoder().encode(s);
const json = (o: object) => utf8(JSON.stringify(o, null, 2) + '\n');

function readme(): string {
  const L = tinyGptLayout();
  return `# tiny-gpt: a hand-wired attention-only transformer

Made by \`npm run samples\` (samples/scripts/make-samples.ts); do not edit by hand. Every
weight is set by hand so each head does one visible thing, which makes this model the
reference for checking the inspector's views (and the unit test test/unit/sampleModel.test.ts
checks these patterns numerically).

- ${LAYERS} layers x ${HEADS} heads, causal, no MLP, no LayerNorm; vocabulary ${L.vocab} tokens,
  residual width ${L.dModel}, head dimension ${L.headDim}.
- Input \`input_ids\` int64 [1, n]; output \`logits\` [1, n, ${L.vocab}]. The attention
  probabilities are not outputs: the runtime finds the Softmax nodes and adds them.
- Layout as in Hugging Face eager attention: Softmax(MatMul(Q, Transpose(K)) * 1/sqrt(d) + mask).
- Positions are computed in the graph (no table), so any length runs; memory grows with n^2.
- Tokenizer: WordPiece over about 100 common English words, punctuation and ##s/##ed/##ing/##ly,
  lowercased; other words become [UNK]. \`[BOS]\` (id ${BOS_ID}) is prepended by the
  tokenizer's TemplateProcessing post-processor; pass it yourself when feeding ids.

Residual stream: [1 | is-first | p | cos(pi p) | cos, sin(2 pi k p / 32), k = 1..15 |
token one-hot | previous-token one-hot].

| head | pattern | how |
|------|---------|-----|
| L0 H0 | previous token (p-1) | relative position kernel shifted by one; its OV copies that token into the previous-token subspace |
| L0 H1 | first token (attention sink) | key = is-first |
| L0 H2 | self (diagonal) | relative position kernel, no shift |
| L0 H3 | uniform over the prefix (bag of words) | all scores equal |
| L1 H0 | induction | query = current token, key = previous-token subspace: attends to the token after an earlier occurrence of the current token (first token when there is none); its OV writes that token into the logits |
| L1 H1 | same token (itself and earlier copies) | query = key = token one-hot; its OV removes the current token from the logits |
| L1 H2 | previous token | as L0 H0 |
| L1 H3 | first token | as L0 H1 |

The logits are the token subspace at the end: the induction head's prediction (logit 10) and
zero elsewhere, so the model predicts repeats of what it has seen. Try
\`samples/texts/induction.txt\`, whose phrase "the old king saw a little black cat by the
river" recurs.
`;
}

export function sampleFiles(): Map<string, Uint8Array> {
  return new Map<string, Uint8Array>([
    ['tiny-gpt/model.onnx', buildTinyGpt()],
    ['tiny-gpt/tokenizer.json', json(tokenizerJson())],
    ['tiny-gpt/tokenizer_config.json', json(tokenizerConfigJson())],
    ['tiny-gpt/README.md', utf8(readme())],
    ['texts/induction.txt', utf8(INDUCTION_TEXT)],
    ['texts/long.txt', utf8(longText())],
  ]);
}
