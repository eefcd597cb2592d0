import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import xterm from "@xterm/headless";
import { afterAll } from "vitest";
import { recordChild } from "../../support/child-registry.ts";
import { waitForExit } from "../../support/process-exit.ts";

const TROUPE_BIN = fileURLToPath(new URL("../../../bin/troupe.js", import.meta.url));
const COLS = 120;
const ROWS = 30;
const WAIT_MS = 60_000;

/** The `troupe` binary running in a pseudo-terminal, and what a person would see on it. */
export interface TerminalRun {
  /** Resolves with the exit code once the command (and the terminal) ended. */
  readonly exited: Promise<number | null>;
  /** Everything written to the terminal, escape sequences included. */
  readonly raw: () => string;
  /** The screen's lines now (scrollback included), as rendered by a terminal emulator. */
  screen(): string[];
  /** Resolves with the screen once `holds` is true of it; rejects if the command exits first. */
  waitForScreen(holds: (lines: string[]) => boolean, what: string): Promise<string[]>;
  /** Types into the terminal (`\u0003` is Ctrl-C). */
  type(text: string): void;
}

const running = new Set<() => void>();
afterAll(() => {
  for (const kill of running) kill();
});

/**
 * Runs `troupe <args>` in a real pseudo-terminal of 120 × 30 — util-linux `script` makes one, and
 * `stty` sizes it — and renders its output with xterm.js's headless emulator, so a test reads the
 * screen (bars redrawn in place, cursor moves applied) rather than the raw bytes.
 */
export function runInTerminal(
  args: readonly string[],
  env: Record<string, string | undefined>,
): TerminalRun {
  const command = [process.execPath, TROUPE_BIN, ...args].map(shellQuote).join(" ");
  // A variable given as undefined is removed (NATS_URL, to reach the embedded server).
  const merged: NodeJS.ProcessEnv = { ...process.env, TERM: "xterm-256color", ...env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete merged[name];
  const child = spawn(
    "script",
    ["-qfec", `stty cols ${COLS} rows ${ROWS}; exec ${command}`, "/dev/null"],
    { env: merged, stdio: ["pipe", "pipe", "pipe"] },
  );
  if (child.pid !== undefined) recordChild(child.pid, "script (troupe in a terminal)");
  const kill = () => child.kill("SIGKILL");
  running.add(kill);
  const term = new xterm.Terminal({
    cols: COLS,
    rows: ROWS,
    scrollback: 1000,
    allowProposedApi: true,
  });
  let raw = "";
  const watchers = new Set<() => void>();
  child.stdout?.on("data", (chunk: Buffer) => {
    raw += chunk.toString();
    term.write(chunk, () => {
      for (const watcher of watchers) watcher();
    });
  });
  const exited = waitForExit(child).then(async (exit) => {
    running.delete(kill);
    // Let the emulator take in the last bytes before anyone reads the screen.
    await new Promise<void>((resolve) => term.write("", resolve));
    return exit.code;
  });
  const screen = () => {
    const buffer = term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) {
      const line = buffer.getLine(i);
      const text = line?.translateToString(true) ?? "";
      // A line the terminal wrapped is one line of output.
      if (line?.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
      else lines.push(text);
    }
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    return lines;
  };
  return {
    exited,
    raw: () => raw,
    screen,
    type: (text) => void child.stdin?.write(text),
    waitForScreen: (holds, what) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => done(new Error(`screen never showed ${what}:\n${screen().join("\n")}`)),
          WAIT_MS,
        );
        const check = () => {
          if (holds(screen())) done(undefined, screen());
        };
        const done = (error?: Error, lines?: string[]) => {
          clearTimeout(timer);
          watchers.delete(check);
          if (lines) resolve(lines);
          else reject(error);
        };
        watchers.add(check);
        void exited.then(() => {
          if (holds(screen())) done(undefined, screen());
          else
            done(
              new Error(`troupe exited before the screen showed ${what}:\n${screen().join("\n")}`),
            );
        });
        check();
      }),
  };
}

function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
