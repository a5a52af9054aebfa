// The process's stdout and stderr for everything the agent prints. A reader that went away (`reroute status | head`,
// a closed terminal) makes the next write fail with EPIPE, which Node raises as an uncaught error: that must never
// crash a pass, so it is ignored and the output is dropped. The streams are touched only when something is printed
// (creating them costs a cron pass, whose output goes nowhere, for nothing).

const guarded = new WeakSet<NodeJS.WriteStream>();

function guard(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  if (!guarded.has(stream)) {
    guarded.add(stream);
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  }
  return stream;
}

function write(stream: NodeJS.WriteStream, text: string): void {
  guard(stream).write(text);
}

/** stderr for a writer of its own (the --verbose echo of the log), with the same EPIPE guard. */
export function guardedStderr(): NodeJS.WriteStream {
  return guard(process.stderr);
}

export function writeOut(text: string): void {
  write(process.stdout, text);
}

export function writeErr(text: string): void {
  write(process.stderr, text);
}
