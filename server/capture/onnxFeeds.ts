/**
 * The inputs an exported transformer asks for, and how to fill them for one sequence of
 * token ids (batch 1). Exports name these inputs by convention (input_ids, attention_mask,
 * token_type_ids, position_ids; past_key_values.* for a KV cache), so names are the contract
 * here; anything else is refused with the input's name.
 */
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { UserError } from '../../common/errors';

type Fill = 'ids' | 'ones' | 'zeros' | 'positions' | 'emptyPast' | 'false' | 'targetIds' | 'targetOnes' | 'targetPositions' | 'lastIndex' | 'length';

interface InputPlan {
  name: string;
  elemType: number;
  dims: (number | string)[] | undefined;
  fill: Fill;
}

export interface FeedPlan {
  inputs: InputPlan[];
  idsInput: string;
  /** Encoder-decoder exports: the decoder's ids input (decoder_input_ids), fed the target ids. */
  decoderInput?: string;
  /** Rows of the embedding the ids index, when the graph shows it (to refuse bad ids early). */
  vocabSize?: number;
}

const T = onnx.TensorProto.DataType;

function dimsOf(v: onnx.IValueInfoProto): (number | string)[] | undefined {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d) => (d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0 ? Number(d.dimValue) : (d.dimParam ?? '?')));
}

export function planFeeds(model: onnx.IModelProto, file: string): FeedPlan {
  const graph = model.graph ?? {};
  const weights = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const declared = (graph.input ?? []).filter((v) => !weights.has(v.name ?? ''));
  const intTypes = new Set([T.INT64, T.INT32]);
  const floatTypes = new Set([T.FLOAT, T.FLOAT16]);
  const ints = declared.filter((v) => intTypes.has(v.type?.tensorType?.elemType ?? -1));
  // An export with a single integer input under another name (torch.onnx.export's "input.1"):
  // that input is the ids.
  const idsName = declared.some((v) => v.name === 'input_ids') ? 'input_ids' : ints.length === 1 ? ints[0].name ?? '' : '';
  if (!idsName) {
    throw new UserError(`${file}: no input_ids input (inputs: ${declared.map((v) => v.name).join(', ')}); export the model with an input named input_ids`);
  }
  const inputs: InputPlan[] = declared.map((v) => {
    const name = v.name ?? '';
    const fill: Fill | undefined =
      name === idsName ? 'ids'
      : name === 'attention_mask' ? 'ones'
      : name === 'token_type_ids' ? 'zeros'
      : name === 'position_ids' ? 'positions'
      : /^past_key_values\.|^past_key_|^past\./.test(name) ? 'emptyPast'
      // GroupQueryAttention exports (onnxruntime-genai): any float cache input, its seqlens_k
      // (total length - 1) and total_sequence_length.
      : /past/.test(name) && floatTypes.has(v.type?.tensorType?.elemType ?? -1) ? 'emptyPast'
      : name === 'seqlens_k' ? 'lastIndex'
      : name === 'total_sequence_length' ? 'length'
      : name === 'use_cache_branch' ? 'false'
      : name === 'decoder_input_ids' ? 'targetIds'
      : name === 'decoder_attention_mask' ? 'targetOnes'
      : name === 'decoder_position_ids' ? 'targetPositions'
      : name === 'encoder_attention_mask' ? 'ones'
      : undefined;
    if (!fill) {
      throw new UserError(`${file}: the model needs input "${name}", which cannot be filled from text (supported: input_ids, attention_mask, token_type_ids, position_ids, past_key_values.*, decoder_input_ids, decoder_attention_mask)`);
    }
    return { name, elemType: v.type?.tensorType?.elemType ?? T.INT64, dims: dimsOf(v), fill };
  });
  let vocabSize: number | undefined;
  for (const n of graph.node ?? []) {
    if (n.opType === 'Gather' && n.input?.[1] === idsName) {
      const table = weights.get(n.input?.[0] ?? '');
      if (table?.dims && table.dims.length > 0) vocabSize = Number(table.dims[0]);
    }
  }
  const decoderInput = inputs.find((p) => p.fill === 'targetIds')?.name;
  return { inputs, idsInput: idsName, decoderInput, vocabSize };
}

function intTensor(elemType: number, values: number[], dims: number[]): ort.Tensor {
  if (elemType === T.INT64) return new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);
  if (elemType === T.INT32) return new ort.Tensor('int32', Int32Array.from(values), dims);
  if (elemType === T.BOOL) return new ort.Tensor('bool', Uint8Array.from(values), dims);
  if (elemType === T.FLOAT) return new ort.Tensor('float32', Float32Array.from(values), dims);
  throw new UserError(`input of ONNX element type ${elemType} is not supported`);
}

function emptyPast(p: InputPlan, file: string): ort.Tensor {
  // [batch, kv_heads, past_len, head_dim]: batch 1, no past tokens; the rest must be fixed.
  const dims = (p.dims ?? []).map((d, i) => (i === 0 ? 1 : i === 2 ? 0 : d));
  if (dims.length !== 4 || dims.some((d) => typeof d !== 'number')) {
    throw new UserError(`${file}: cache input "${p.name}" has no fixed [batch, heads, past, head_dim] shape; export the model without past_key_values`);
  }
  const shape = dims as number[];
  if (p.elemType === T.FLOAT16) return new ort.Tensor('float16', new Uint16Array(0), shape);
  return new ort.Tensor('float32', new Float32Array(0), shape);
}

/** targetIds: the decoder's ids (encoder-decoder models); the source ids when not given. */
export function buildFeeds(plan: FeedPlan, ids: number[], file: string, targetIds: number[] = ids): Record<string, ort.Tensor> {
  const n = ids.length;
  const m = targetIds.length;
  const feeds: Record<string, ort.Tensor> = {};
  for (const p of plan.inputs) {
    const dims = p.dims?.length === 1 ? [n] : [1, n];
    const tdims = p.dims?.length === 1 ? [m] : [1, m];
    switch (p.fill) {
      case 'ids': feeds[p.name] = intTensor(p.elemType, ids, dims); break;
      case 'ones': feeds[p.name] = intTensor(p.elemType, ids.map(() => 1), dims); break;
      case 'zeros': feeds[p.name] = intTensor(p.elemType, ids.map(() => 0), dims); break;
      case 'positions': feeds[p.name] = intTensor(p.elemType, ids.map((_, i) => i), dims); break;
      case 'emptyPast': feeds[p.name] = emptyPast(p, file); break;
      case 'false': feeds[p.name] = new ort.Tensor('bool', Uint8Array.of(0), [1]); break;
      case 'lastIndex': feeds[p.name] = intTensor(p.elemType, [n - 1], [1]); break;
      case 'length': feeds[p.name] = intTensor(p.elemType, [n], []); break;
      case 'targetIds': feeds[p.name] = intTensor(p.elemType, targetIds, tdims); break;
      case 'targetOnes': feeds[p.name] = intTensor(p.elemType, targetIds.map(() => 1), tdims); break;
      case 'targetPositions': feeds[p.name] = intTensor(p.elemType, targetIds.map((_, i) => i), tdims); break;
    }
  }
  return feeds;
}
