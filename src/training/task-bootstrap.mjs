// Pool threads do not inherit the TypeScript loader of vitest or tsx: when Troupe runs from
// source, piscina loads this file, which compiles the thread entry with tsx. A build loads the
// compiled `task.js` directly (see `workerFilename` in pool.ts).
import { tsImport } from "tsx/esm/api";

const entry = await tsImport("./task.ts", import.meta.url);

export default entry.default;
