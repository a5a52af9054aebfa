// Where a VIB of each acceptance level may put files: ESXi's extensibility rules, as VMware's VIB Author technical
// note lists them (docs/esxi.md, "Where the VIB may put files", cites the sources). A community-supported VIB with a
// file elsewhere fails the rule check at install unless forced (`esxcli software vib install -f`); a partner-supported
// one may also use the partner paths; VMwareAccepted and VMwareCertified may put files anywhere.

/** Paths a CommunitySupported VIB may use (and every level above it). */
export const COMMUNITY_PATHS: readonly RegExp[] = [
  /^\/etc\/vmware\/shutdown\/shutdown\.d\/.+/,
  /^\/etc\/vmware\/pciid\/.+/,
  /^\/etc\/vmware\/vm-support\/.+/,
  /^\/etc\/vmware\/firewall\/.+/,
  /^\/etc\/vmware\/service\/.+/,
  /^\/etc\/vmware\/driver\.map\.d\/.+/,
  /^\/etc\/cim\/.+/,
  /^\/etc\/config\/.+/,
  /^\/opt\/.+/,
  /^\/usr\/lib\/cim\/.+/,
  /^\/usr\/lib\/pycim\/.+/,
  /^\/usr\/lib\/hostprofiles\/plugins\/.+/,
  /^\/usr\/lib\/hostprofiles\/locale\/.+/,
  /^\/usr\/lib\/vmware\/.+/,
  /^\/usr\/lib\/vmware-debug\/.+/,
  /^\/usr\/libexec\/jumpstart\/plugins\/.+/,
  /^\/usr\/share\/hwdata\/driver\.pciids\.d\/.+/,
  /^\/var\/lib\/sfcb\/registration\/.+/,
];

/** Paths a PartnerSupported VIB may use beside the community ones. */
export const PARTNER_PATHS: readonly RegExp[] = [
  /^\/etc\/vmware\/vmware\.lic$/,
  /^\/etc\/vmware\/support$/,
  /^\/etc\/vmware\/oem\.xml$/,
  /^\/etc\/vmware\/backup\.conf$/,
  /^\/usr\/lib\/vmware\/hostd\/docroot\/client\/customLinks\.xml$/,
  /^\/etc\/init\.d\/.+/,
];

export type AcceptanceLevel = 'community' | 'partner';

/** Whether a VIB of `level` may carry `path` (absolute, as on the host). */
export function levelAllows(level: AcceptanceLevel, path: string): boolean {
  if (COMMUNITY_PATHS.some((r) => r.test(path))) return true;
  return level === 'partner' && PARTNER_PATHS.some((r) => r.test(path));
}

/**
 * The payload's paths a community VIB carries beyond its level, each with why: installing it then needs the host at
 * CommunitySupported and `esxcli software vib install -f` (docs/esxi.md); a partner-signed build needs none of this.
 */
export const BEYOND_COMMUNITY: ReadonlyMap<string, string> = new Map([
  [
    '/etc/init.d/reroute',
    'ESXi rebuilds root\'s crontab at every boot and skips local.sh under Secure Boot: an init script is what puts the cron lines back',
  ],
]);
