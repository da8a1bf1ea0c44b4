/**
 * Reading a com.microsoft fused attention node, shared by the expansions of Attention /
 * MultiHeadAttention (fusedAttention.ts) and GroupQueryAttention (fusedGqa.ts): its element
 * type the expansion computes in, and the one-line refusal for the forms not expanded yet.
 */
import { onnx } from 'onnx-proto';
import { UserError } from '../../common/errors';

/** What the expansion needs of the fused node's element type: its precision for constants, its code for Cast. */
export interface FloatType {
  dtype: 'float32' | 'float16';
  code: number;
}

export function floatType(code: number): FloatType {
  return { dtype: code === onnx.TensorProto.DataType.FLOAT16 ? 'float16' : 'float32', code };
}

export function refuse(file: string, n: onnx.INodeProto, why: string): never {
  throw new UserError(`${file}: fused attention op ${n.domain}.${n.opType} (node ${n.name}) ${why}: not supported yet; re-export with eager attention`);
}
