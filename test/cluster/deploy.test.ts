import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { findNatsServer } from "../../src/transport/nats-server-process.ts";

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const NODES = ["nats-1", "nats-2", "nats-3"];
const TROUPES = ["troupe-1", "troupe-2", "troupe-3"];
const passwords = { TROUPE_RUNTIME_PASSWORD: "rpass", TROUPE_SUBMITTER_PASSWORD: "spass" };

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  volumes?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

function compose(): { services: Record<string, Service> } {
  // Compose files use YAML 1.1 merge keys (`<<: *troupe`).
  return parse(readFileSync(root("docker-compose.yml"), "utf8"), { merge: true });
}

/** `nats-server -t`: the real server's verdict on a config file. */
function natsServerTest(file: string, env: Record<string, string>) {
  const binary = findNatsServer();
  if (!binary) throw new Error("nats-server not found");
  return spawnSync(binary, ["-c", file, "-t"], {
    env: { PATH: process.env.PATH ?? "", ...env },
    encoding: "utf8",
  });
}

describe("the deployment files", () => {
  it.each(["nats.conf", ...NODES.map((node) => `deploy/cluster/${node}.conf`)])(
    "%s is a valid nats-server config once the passwords are set",
    (file) => {
      const result = natsServerTest(root(file), passwords);
      expect(result.stderr).toContain("is valid");
      expect(result.status).toBe(0);
    },
  );

  it("nats.conf refuses to start without the passwords in the environment", () => {
    const result = natsServerTest(root("nats.conf"), {});
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("TROUPE_RUNTIME_PASSWORD");
  });

  it("each cluster config names its server and routes to all three nodes", () => {
    for (const node of NODES) {
      const text = readFileSync(root(`deploy/cluster/${node}.conf`), "utf8");
      expect(text).toContain(`server_name: ${node}`);
      for (const peer of NODES) expect(text).toContain(`nats-route://${peer}:6222`);
    }
  });

  it("docker-compose.yml runs three NATS nodes of the official image with the repo's configs", () => {
    const { services } = compose();
    NODES.forEach((node, i) => {
      const service = services[node];
      expect(service?.image).toMatch(/^nats:2\.\d+/);
      expect(service?.command).toEqual(["-c", `/etc/nats/cluster/${node}.conf`, "-sd", "/data"]);
      expect(service?.volumes).toContain("./deploy:/etc/nats:ro");
      expect(service?.ports).toEqual([`${4222 + i}:4222`, `${8222 + i}:8222`]);
      expect(service?.healthcheck?.test.join(" ")).toContain("/healthz");
      expect(Object.keys(service?.environment ?? {}).sort()).toEqual(Object.keys(passwords));
    });
  });

  it("docker-compose.yml runs three troupe processes on R3 streams, healthy when /readyz is", () => {
    const { services } = compose();
    TROUPES.forEach((name, i) => {
      const service = services[name];
      expect(service?.build).toBe(".");
      expect(service?.environment).toMatchObject({
        NATS_URL: NODES.map((node) => `nats://${node}:4222`).join(","),
        NATS_USER: "runtime",
        TROUPE_REPLICAS: "3",
      });
      expect(service?.healthcheck?.test.join(" ")).toContain("http://127.0.0.1:8080/readyz");
      expect(service?.ports).toEqual([`${8081 + i}:8080`]);
      expect(Object.keys(service?.depends_on ?? {})).toEqual(NODES);
    });
  });

  it("docker-compose.yml passes `docker compose config` (the plugin, or docker-compose v1)", () => {
    const env = { ...process.env, ...passwords };
    const file = root("docker-compose.yml");
    const plugin = spawnSync("docker", ["compose", "version"], { encoding: "utf8", env });
    const [command, args] =
      plugin.status === 0
        ? ["docker", ["compose", "-f", file, "config", "-q"]]
        : ["docker-compose", ["-f", file, "config", "-q"]];
    const result = spawnSync(command, args, { encoding: "utf8", env });
    // Neither installed: the YAML checks above are the whole check (say so rather than pass quietly).
    if (result.error) {
      console.warn(`compose validation not run: ${result.error.message}`);
      return;
    }
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});
