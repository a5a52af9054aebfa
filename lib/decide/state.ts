// PLACEHOLDER owned by the decision-engine work: the engine's slice of the state file.
import { z } from 'zod';

export const engineStateSchema = z.object({}).passthrough();
export type EngineState = z.output<typeof engineStateSchema>;

export function initialEngineState(): EngineState {
  return {};
}
