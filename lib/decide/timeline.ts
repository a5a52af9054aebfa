// The `reroute simulate` timeline: a scripted world, second by second, validated here (pure). Format: docs/decision.md.
import { z } from 'zod';
import type { Config } from '../config/schema';
import { validateConfig } from '../config/validate';
import { isIPv4 } from '../net/ipv4';

const scvmSet = z
  .object({
    icmp: z.boolean().optional(),
    session: z.enum(['alive', 'dead', 'missing']).optional(),
    manageIcmp: z.boolean().optional(),
    /** its NFS service accepts connections (the data-path check, config nfsCheck) */
    nfs: z.boolean().optional(),
    /** the session lists its API serves lack the local SCVM's session (its meta view is out of step: issue 27) */
    partialList: z.boolean().optional(),
  })
  .strict();

/** What an event changes; every field left out stays as it was. */
export const worldSetSchema = z
  .object({
    local: scvmSet.optional(),
    scvms: z
      .record(z.string().refine(isIPv4, { message: 'keys must be SCVM data IPs' }), scvmSet)
      .optional(),
    api: z.boolean().optional(),
    /** the SCVM (data IP) whose API answers the session list; null: the first whose management IP answers ping */
    listFrom: z.string().refine(isIPv4, { message: 'an SCVM data IP' }).nullable().optional(),
    reroute: z.boolean().optional(),
    secondaryChannel: z.boolean().optional(),
    routeChangeFails: z.boolean().optional(),
    /** an operator runs `reroute route --target` (an object) or `reroute route --auto` (null) */
    pin: z
      .object({
        target: z.string().refine(isIPv4, { message: 'a dotted-quad IPv4 address' }),
        force: z.boolean().default(false),
        /** `--for`, s; left out = until `route --auto` */
        forSec: z.number().int().min(1).optional(),
      })
      .strict()
      .nullable()
      .optional(),
  })
  .strict();
export type WorldSet = z.output<typeof worldSetSchema>;

const eventSchema = z
  .object({
    at: z.number().int().min(0),
    every: z.number().int().min(1).optional(),
    until: z.number().int().min(0).optional(),
    set: worldSetSchema,
  })
  .strict()
  .refine((e) => (e.until === undefined) === (e.every === undefined), {
    message: '"every" and "until" go together (repeat the change every N s until second M)',
  });

export const timelineSchema = z
  .object({
    name: z.string().min(1).optional(),
    description: z.string().optional(),
    durationSec: z.number().int().min(1).max(7 * 86_400),
    passEverySec: z.number().int().min(1).max(3600).default(5),
    config: z.record(z.unknown()).default({}),
    start: worldSetSchema.default({}),
    events: z.array(eventSchema).default([]),
  })
  .strict();
export type Timeline = z.output<typeof timelineSchema>;

/** The lab cluster of the design notes, used when a timeline names no cluster. */
export const LAB_CLUSTER = {
  local: { dataIp: '10.10.85.15', manageIp: '192.168.85.15' },
  scvms: [
    { dataIp: '10.10.85.16', manageIp: '192.168.85.16' },
    { dataIp: '10.10.85.17', manageIp: '192.168.85.17' },
  ],
};

/** Validate a parsed timeline file; every problem named with its key. */
export function parseTimeline(raw: unknown): { ok: true; timeline: Timeline; config: Config } | { ok: false; problems: string[] } {
  const t = timelineSchema.safeParse(raw);
  if (!t.success) {
    return {
      ok: false,
      problems: t.error.issues.map((i) => `key "${i.path.join('.') || '(top level)'}": ${i.message}`),
    };
  }
  const c = validateConfig({ ...LAB_CLUSTER, ...t.data.config }, 'linux');
  if (!c.ok) return { ok: false, problems: c.problems.map((p) => `config: ${p}`) };
  const config = c.config;
  const known = new Set([config.local.dataIp, ...config.scvms.map((s) => s.dataIp)]);
  const problems: string[] = [];
  const check = (set: WorldSet, where: string) => {
    for (const ip of Object.keys(set.scvms ?? {})) {
      if (!known.has(ip)) problems.push(`${where}: scvms key ${ip} is not the local or a config.scvms data IP`);
    }
  };
  check(t.data.start, 'start');
  t.data.events.forEach((e, i) => {
    check(e.set, `events.${i}`);
    if (e.at >= t.data.durationSec) problems.push(`events.${i}: at ${e.at} is past durationSec ${t.data.durationSec}`);
  });
  return problems.length ? { ok: false, problems } : { ok: true, timeline: t.data, config };
}
