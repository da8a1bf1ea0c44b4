/**
 * Numbers out of onnxruntime tensors and ONNX/safetensors float16 bits. float16 arrives as raw
 * halves (Uint16Array) from onnxruntime-node and from files; newer runtimes may hand a
 * Float16Array, which already holds numbers.
 */
import type * as ort from 'onnxruntime-node';

/** IEEE 754 half-precision bits to a number (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** A numeric tensor as float32: float32 data as it is (no copy), anything else converted. */
export function toFloat32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'string' || t.type === 'bool') throw new Error(`tensor of type ${t.type} where numbers were expected`);
  const src = t.data as ArrayLike<number | bigint>;
  if (t.type === 'float16' && src instanceof Uint16Array) return Float32Array.from(src, halfToFloat);
  return Float32Array.from(src as ArrayLike<number>, Number);
}

const ELEM_TYPES: Record<string, number> = {
  float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, string: 8, bool: 9,
  float16: 10, float64: 11, uint32: 12, uint64: 13,
};

/** The ONNX element type (TensorProto.DataType) of an onnxruntime tensor type; float32 if unknown. */
export function onnxElemType(type: string): number {
  return ELEM_TYPES[type] ?? 1;
}
