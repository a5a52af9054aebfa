// The ZBS API's part of the state: the login token (in the state file) and the last cluster switches read (in the
// record file). The token is a secret: it is written to the state file (mode 0600) and to the X-SmartX-Token header,
// nowhere else. Its expiry and the switches' read time are agent time (lib/runtime/clock.ts).
import { z } from 'zod';
import { isIPv4 } from '../../net/ipv4';

const tokenSchema = z
  .object({
    // Printable ASCII only: the value goes into an HTTP header.
    value: z
      .string()
      .min(1)
      .max(4096)
      .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'),
    /** epoch ms after which the token is not used any more */
    expiresAt: z.number().int().nonnegative(),
    /** manage IP of the SCVM that issued it (for the log; the token is valid cluster-wide) */
    scvm: z.string().refine(isIPv4, 'a dotted-quad IPv4 address'),
  });

const switchesSchema = z
  .object({
    enableReroute: z.boolean(),
    enableSecondaryDataChannel: z.boolean(),
    /** epoch ms of the read */
    fetchedAt: z.number().int().nonnegative(),
  });

/** The API's part of the state: the token (state file) and the switches (record file). Unknown keys are dropped. */
export const apiCacheSchema = z
  .object({
    token: tokenSchema.nullable().default(null),
    switches: switchesSchema.nullable().default(null),
  });

/** The API cache as stored between passes. */
export type ApiCache = z.output<typeof apiCacheSchema>;

/** A cache with nothing in it: first run, or an unreadable state file. */
export function initialApiCache(): ApiCache {
  return { token: null, switches: null };
}
