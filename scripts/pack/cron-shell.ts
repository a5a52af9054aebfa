// The shell the packages run on the host to put the cron lines in place: the VIB's /etc/init.d/reroute and the RPM's
// %post. It writes no cron line itself: it runs the installed `reroute install` through the bundle's launcher, so the
// line format, the crontab's place per platform and the crond reload stay in lib/ (docs/install.md).
import { INSTALL_DIR } from './common';

/** The bundle's launcher on the host: what cron runs. */
export const LAUNCHER = `${INSTALL_DIR}/bin/reroute`;
/** Cadence when the settings file does not name one (seconds; docs/install.md). */
export const DEFAULT_EVERY = 1;

export interface CronShellSpec {
  /** optional settings file on the host: lines `every=<seconds>`, `config=<file>` (and the VIB's `boot_probe=<file>`) */
  settings: string;
  /** the config file when the settings do not name one */
  config: string;
}

/**
 * Variables and functions for /bin/sh (busybox ash on ESXi, bash in dom0): `say` (stdout and syslog),
 * `read_settings`, and `install_cron`, which runs `reroute install` when the config exists and otherwise says what
 * to do and succeeds (a host installed before it is configured).
 */
export function cronShellFunctions(spec: CronShellSpec): string {
  return `LAUNCHER=${LAUNCHER}
SETTINGS=${spec.settings}
EVERY=${DEFAULT_EVERY}
CONFIG=${spec.config}
BOOT_PROBE=

say() {
  echo "reroute: $*"
  logger -t reroute "$*" 2>/dev/null || :
}

read_settings() {
  [ -f "$SETTINGS" ] || return 0
  while IFS='=' read -r key value; do
    case "$key" in
      every) EVERY=$value ;;
      config) CONFIG=$value ;;
      boot_probe) BOOT_PROBE=$value ;;
    esac
  done < "$SETTINGS"
}

install_cron() {
  read_settings
  if [ ! -f "$CONFIG" ]; then
    say "no $CONFIG yet: write it (docs/config.md), then run: $LAUNCHER --config $CONFIG install --every $EVERY --node $LAUNCHER"
    return 0
  fi
  "$LAUNCHER" --config "$CONFIG" install --every "$EVERY" --node "$LAUNCHER"
}
`;
}
