// Multi-GPU settings shared by the engines: DeepSpeed ZeRO-2/3 configs whose batch, clipping and precision
// values are "auto" (filled from the trainer's arguments by the transformers integration), FSDP settings,
// and the decoder layer class FSDP wraps.
import type { JobModel, JobPlan } from './types.js';

/** DeepSpeed JSON for ZeRO stage 2 or 3. Stage 3 gathers the 16-bit weights when saving so the adapter is whole. */
export function deepspeedConfig(stage: 2 | 3): Record<string, unknown> {
  const zero: Record<string, unknown> = stage === 2
    ? { stage: 2, allgather_partitions: true, allgather_bucket_size: 5e8, overlap_comm: true, reduce_scatter: true, reduce_bucket_size: 5e8, contiguous_gradients: true }
    : {
      stage: 3, overlap_comm: true, contiguous_gradients: true, sub_group_size: 1e9, reduce_bucket_size: 'auto',
      stage3_prefetch_bucket_size: 'auto', stage3_param_persistence_threshold: 'auto', stage3_max_live_parameters: 1e9,
      stage3_max_reuse_distance: 1e9, stage3_gather_16bit_weights_on_model_save: true,
    };
  return {
    train_batch_size: 'auto', train_micro_batch_size_per_gpu: 'auto', gradient_accumulation_steps: 'auto', gradient_clipping: 'auto',
    // the trainer builds a torch AdamW, which DeepSpeed calls untested
    zero_allow_untested_optimizer: true, bf16: { enabled: 'auto' }, zero_optimization: zero,
  };
}

/** The file name of the DeepSpeed config a plan needs, or null. */
export function deepspeedFile(plan: JobPlan): string | null {
  return plan.strategy === 'zero2' ? 'deepspeed/zero2.json' : plan.strategy === 'zero3' ? 'deepspeed/zero3.json' : null;
}

const DECODER_LAYERS: Record<string, string> = {
  llama: 'LlamaDecoderLayer', mistral: 'MistralDecoderLayer', qwen2: 'Qwen2DecoderLayer', qwen3: 'Qwen3DecoderLayer',
  gemma: 'GemmaDecoderLayer', gemma2: 'Gemma2DecoderLayer', gemma3: 'Gemma3DecoderLayer', gemma3_text: 'Gemma3DecoderLayer',
  granite: 'GraniteDecoderLayer', smollm3: 'SmolLM3DecoderLayer', phi3: 'Phi3DecoderLayer',
};

/** transformers' decoder layer class of a model (FSDP wraps each one), e.g. Qwen2DecoderLayer */
export function decoderLayerClass(m: Pick<JobModel, 'modelType' | 'architecture'>): string {
  const known = DECODER_LAYERS[m.modelType];
  if (known) return known;
  const arch = m.architecture?.replace(/ForCausalLM$/, '');
  return arch ? `${arch}DecoderLayer` : 'LlamaDecoderLayer';
}

/** TrainingArguments for FSDP full sharding (FSDP checkpoints activations itself, in place of the trainer's). */
export function fsdpTrainingArgs(plan: JobPlan, layer: string): Record<string, unknown> {
  return {
    fsdp: 'full_shard auto_wrap',
    fsdp_config: {
      transformer_layer_cls_to_wrap: [layer], backward_prefetch: 'backward_pre', forward_prefetch: false,
      use_orig_params: true, sync_module_states: true, cpu_ram_efficient_loading: true, activation_checkpointing: plan.gradientCheckpointing,
    },
  };
}
