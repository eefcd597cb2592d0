import { main } from "./main.ts";

// The executable: `troupe <command>`. Exit explicitly so no stray handle keeps a stopped process up.
process.exit(await main(process.argv.slice(2)));
