// docs/config.md, generated from the schema so the two never disagree (scripts/gen-config-doc; a test checks).
import { z } from 'zod';
import { defaultPaths, type DefaultPaths } from './paths';
import { configSchema } from './schema';

/** One key of the config, as docs/config.md and reroute-config(5) show it. */
export interface Row {
  key: string;
  type: string;
  def: string;
  description: string;
}

function unwrap(t: z.ZodTypeAny): { inner: z.ZodTypeAny; def: unknown; hasDefault: boolean; optional: boolean } {
  let inner = t;
  let def: unknown = undefined;
  let hasDefault = false;
  let optional = false;
  for (;;) {
    if (inner instanceof z.ZodDefault) {
      hasDefault = true;
      def = inner._def.defaultValue();
      inner = inner._def.innerType;
    } else if (inner instanceof z.ZodOptional) {
      optional = true;
      inner = inner._def.innerType;
    } else if (inner instanceof z.ZodNullable) {
      inner = inner._def.innerType;
    } else if (inner instanceof z.ZodEffects) {
      inner = inner._def.schema;
    } else return { inner, def, hasDefault, optional };
  }
}

function typeName(t: z.ZodTypeAny): string {
  if (t instanceof z.ZodEnum) return (t._def.values as string[]).map((v) => `"${v}"`).join(' \\| ');
  if (t instanceof z.ZodNumber) return 'number';
  if (t instanceof z.ZodString) return 'string';
  if (t instanceof z.ZodBoolean) return 'boolean';
  if (t instanceof z.ZodArray) return 'array';
  if (t instanceof z.ZodRecord) return 'object (IP -> IP)';
  if (t instanceof z.ZodObject) return 'object';
  return 'value';
}

function walk(obj: z.ZodObject<z.ZodRawShape>, prefix: string, rows: Row[]): void {
  for (const [k, v] of Object.entries(obj.shape)) {
    const key = prefix + k;
    const { inner, def, hasDefault, optional } = unwrap(v as z.ZodTypeAny);
    const description = (v as z.ZodTypeAny).description ?? inner.description ?? '';
    if (inner instanceof z.ZodObject && !(inner === undefined)) {
      if (description || !hasDefault) {
        rows.push({ key, type: 'object', def: hasDefault ? '' : optional ? '(optional)' : '**required**', description });
      }
      walk(inner as z.ZodObject<z.ZodRawShape>, key + '.', rows);
      continue;
    }
    const perPlatform = key.startsWith('paths.') ? (k as keyof DefaultPaths) : null;
    const shown = perPlatform
      ? `ESXi \`${JSON.stringify(defaultPaths('esxi')[perPlatform])}\`, XenServer and Linux \`${JSON.stringify(defaultPaths('xen')[perPlatform])}\``
      : hasDefault
        ? `\`${JSON.stringify(def)}\``
        : optional
          ? '(optional)'
          : '**required**';
    rows.push({ key, type: typeName(inner), def: shown, description });
  }
}

/** Every key of the config, in the schema's order: objects before their keys. */
export function configRows(): Row[] {
  const rows: Row[] = [];
  walk(unwrap(configSchema).inner as z.ZodObject<z.ZodRawShape>, '', rows);
  return rows;
}

/** The markdown of docs/config.md. */
export function configDoc(): string {
  const rows = configRows();
  const lines = [
    '# Configuration',
    '',
    `One JSON file: \`--config <file>\`, else \`$REROUTE_CONFIG\`, else \`${defaultPaths('esxi').config}\` on ESXi and`,
    `\`${defaultPaths('xen').config}\` on XenServer / XCP-ng dom0 and plain Linux (which have no /scratch). It must not be`,
    'writable by group or others; when it holds `api.password` it must be mode 0600 (prefer `api.credentialsFile`).',
    'Every key is checked at start: an unknown key, a wrong type, a bad IPv4 address or an impossible value ends the run',
    'with exit 2 and one line naming the key, the value and what is expected; no route is touched.',
    '',
    'Generated from `lib/config/schema.ts` by `scripts/gen-config-doc`; do not edit by hand.',
    '',
    '| key | type | default | meaning |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| \`${r.key}\` | ${r.type} | ${r.def} | ${r.description.replace(/\|/g, '\\|')} |`),
    '',
    'Cross-key checks: `probe.payloadBytes` + 28 must fit `probe.mtu`; `probe.minReplies` <= `probe.count`;',
    '`probe.timeoutMs` and `api.budgetMs` < `passDeadlineMs`; `decide.maxBackToNormalSec` >= `decide.backToNormalSec`;',
    '`api.username` and `api.password` together; `local.dataIp` differs from `nfsVip`; each SCVM\'s data and management',
    'IPs are given once (the local SCVM may be listed in `scvms` with its own addresses) and neither is `nfsVip`; every path',
    'is absolute. A key given twice is refused with both lines (JSON readers keep only the last); a UTF-8 byte order mark',
    'is accepted. `reroute config check [file]` makes these checks without running anything.',
    '',
    '## Paths',
    '',
    'The defaults of `paths.*` and of the config file depend on the platform (`platform`, or the host detected when it',
    'is `"auto"`): on ESXi what must survive a reboot is on `/scratch` and the rest on the RAM disk (`/var/run`); dom0',
    'has no `/scratch`, so there the config is in `/etc/reroute`, the state in `/var/lib/reroute` and the log in `/var/log`',
    '(where support looks, so no link). DESIGN.md names the ESXi paths only; issue 28 made the dom0 ones the default there.',
    '',
    '## Example',
    '',
    '```json',
    JSON.stringify(
      {
        platform: 'auto',
        hypervisorIp: '192.168.85.11',
        local: { dataIp: '10.10.85.15', manageIp: '192.168.85.15' },
        scvms: [
          { dataIp: '10.10.85.16', manageIp: '192.168.85.16' },
          { dataIp: '10.10.85.17', manageIp: '192.168.85.17' },
        ],
        api: { credentialsFile: '/scratch/reroute/credentials.json' },
      },
      null,
      2,
    ),
    '```',
    '',
  ];
  return lines.join('\n');
}
