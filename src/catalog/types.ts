// Types of the model catalog (catalog/models.json), mirroring catalog/models.schema.json: licences with
// their commercial terms and duties, model families (open weights and closed services) with variants.

/** A sentence in both languages shitate speaks. */
export interface Text {
  en: string;
  ja: string;
}

export type Lang = keyof Text;

/** yes: allowed; conditional: allowed with duties or thresholds; no: not allowed. */
export type Permission = 'yes' | 'conditional' | 'no';

export interface LicenceMatch {
  /** values of `license:` in a Hugging Face README front matter */
  hfLicense?: string[];
  /** values of `license_name:` (used with `license: other`) */
  hfLicenseName?: string[];
  /** phrases that identify the licence text in a LICENSE file (compared case- and space-insensitively) */
  textMarkers?: string[];
}

export interface Licence {
  id: string;
  name: string;
  /** SPDX identifier when the licence has one */
  spdx?: string;
  /** a well-known generic licence (Apache-2.0, MIT): loses to a specific licence found in the same file */
  generic?: boolean;
  commercial: Permission;
  /** may weights tuned from the model be given to others (published, shipped in a product)? */
  redistribution: Permission;
  /** users or customers above which a separate licence must be requested (monthly active users) */
  userThreshold?: number;
  /** text that must be displayed, or null */
  attribution: Text | null;
  /** rule for naming derived models, or null */
  naming: Text | null;
  /** acceptable-use policy or use-based restrictions that must be passed on */
  useRestrictions: boolean;
  summary: Text;
  obligations: Text[];
  match: LicenceMatch;
  source: string;
  notes?: string[];
}

export interface ModelShapeData {
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  tied: boolean;
}

export interface Variant {
  id: string;
  /** Hugging Face repository id */
  hf?: string;
  /** Hugging Face id of the instruction-tuned (chat) checkpoint of this size; equal to `hf` when that
   *  checkpoint is itself the chat model. Same shape and licence as the variant. */
  chat?: string;
  params: number;
  contextLength: number;
  /** overrides the family's licence */
  licence?: string;
  /** overrides the family's model_type */
  modelType?: string;
  shape?: ModelShapeData;
  notes?: string[];
}

export type MethodId = 'lora' | 'qlora' | 'full' | 'classifier-head';

export type CustomizationKind = 'prompt' | 'assistant' | 'rag' | 'memory' | 'hosted-fine-tuning';

export interface Customization {
  kind: CustomizationKind;
  name: string;
  summary: Text;
  source: string;
}

export interface Family {
  id: string;
  name: string;
  publisher: string;
  kind: 'open' | 'closed';
  openWeights: boolean;
  /** licence id for every variant that does not override it; null for closed services */
  licence: string | null;
  /** config.json model_type of the family, null for closed services */
  modelType: string | null;
  tasks: ('chat' | 'completion' | 'classification' | 'embedding')[];
  /** languages the publisher states the model handles well (ISO 639-1; not exhaustive) */
  languages: string[];
  methods: MethodId[];
  variants: Variant[];
  customization?: Customization[];
  summary: Text;
  sources: string[];
  notes?: string[];
}

export interface Catalog {
  $schema?: string;
  version: number;
  factsAsOf: string;
  disclaimer: Text;
  licences: Licence[];
  families: Family[];
}
