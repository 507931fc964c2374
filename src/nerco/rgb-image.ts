/**
 * A decoded 8-bit image in the form the network's pre-processing consumes: the result of Pillow's
 * `convert('RGB')` (NERCO.md §3.1). Browser-safe (no Node APIs), so both the Node decoders and a
 * browser front end can produce it.
 */
export interface RGBImage {
  width: number;
  height: number;
  /** Interleaved R, G, B bytes, row-major, length width * height * 3. */
  data: Uint8Array;
}
