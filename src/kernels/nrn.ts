// The NRN (implicit representation MLP of Pre, NERCO.md §4.2–4.3) in its two forms.
export { nrnFast, nrnFastMacsPerPixel } from './nrn-fast.js';
export { nrnGeneral, nrnGeneralMacsPerPixel } from './nrn-general.js';
export { nrnRelCell, prepareNrn, releaseNrn, type NrnFastOptions, type NrnLayer, type NrnWeights } from './nrn-weights.js';
