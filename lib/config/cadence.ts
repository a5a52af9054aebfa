// The long-lived mode's shortest cadence, for `install --every` (the cron lines) and `loop --every` (the runner) alike.

/** The long-lived mode's cadences: down to 0.25 s, up to a pass a minute's process is worth. */
export const MIN_EVERY_SEC = 0.25;
