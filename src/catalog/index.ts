// Public surface of the catalog folder: the model catalog, licence detection and gate, GPU estimates, CPU
// time calibration and the method advisor.
export type { Catalog, Customization, Family, Lang, Licence, Permission, Text, Variant } from './types.js';
export { loadCatalog, findModel, licenceById, variantLicenceId, variantShape, engineSupports, type ModelMatch } from './catalog.js';
export { detectLicence, type DetectedLicence, type LicenceEvidence } from './detect.js';
export {
  checkLicence, decideLicence, enforceLicence, gateLicence, formatLicenceCheck, licenceRecord, writeLicenceRecord,
  LICENCE_SCHEMA, LICENCE_DEFAULTS, PURPOSES, type Purpose, type Decision, type GateOptions, type LicenceCheck,
} from './gate.js';
export { estimateGpu, smallestGpu, approxShape, type GpuEstimate, type GpuEstimateInput, type GpuMethod } from './estimate-gpu.js';
export { calibrateCpu, cpuSeconds, measureGemm, formatDuration, type CpuCalibration } from './calibrate.js';
export { rankMethods, type AdviceInput, type Method } from './advisor.js';
export { buildAdvice, suggestModels, type Advice, type Recommendation } from './advice.js';
