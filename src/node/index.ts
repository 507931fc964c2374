// Node-only helpers: files, images on disk.
export { decodeImage, decodeImageFile, encodePNG } from './image-io.js';
export { writeFileAtomic } from './fs-atomic.js';
export { readNeRCoWeightsFromPath } from './load-weights-node.js';
export { convertCheckpoints } from '../../weights-tools/convert.js';
