import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpFixture, startHttpFixture } from "./support.ts";

let fx: HttpFixture;
let url: string;

beforeAll(async () => {
  fx = await startHttpFixture();
  ({ url } = await fx.serve());
});
afterAll(() => fx.close());

// biome-ignore lint/suspicious/noExplicitAny: the JSON is asserted field by field
type Json = Record<string, any>;

async function postYaml(text: string, type = "text/yaml") {
  const res = await fetch(`${url}/api/v1/tasks`, {
    method: "POST",
    headers: { "content-type": type },
    body: text,
  });
  return { status: res.status, body: (await res.json()) as Json };
}

const MANIFEST = `
apiVersion: mloc/v1
kind: Pipeline
metadata:
  name: churn
  description: train two models, keep both
spec:
  model:
    type: logistic_regression
  resources:
    cpu: 1
    memory: 512Mi
  parallel:
    enabled: true
    workers: 2
  data:
    dataset: iris
    split: 0.2
  stages:
    - name: prepare
      taskType: train
      epochs: 2
      parallel:
        enabled: false
    - name: train
      dependsOn: [prepare]
      model:
        type: random_forest
        hyperparameters:
          n_trees: 5
      resources:
        cpu: 2
        memory: 2Gi
      output:
        destination:
          path: s3://models/churn/rf
`;

describe("POST /api/v1/tasks (seed 003's manifest)", () => {
  it("maps stages onto a workflow, keeping data.split and output.destination.path in the record", async () => {
    for (const type of ["text/yaml", "application/yaml"]) {
      const { status, body } = await postYaml(MANIFEST, type);
      expect(status).toBe(202);
      expect(body).toMatchObject({ status: "RUNNING", total_steps: 2 });
      const res = await fetch(`${url}/api/v1/workflows/${body.workflow_id}`);
      const workflow = (await res.json()) as Json;
      expect(workflow).toMatchObject({
        workflow_name: "churn",
        description: "train two models, keep both",
        metadata: {
          apiVersion: "mloc/v1",
          kind: "Pipeline",
          stages: {
            prepare: { task_type: "train", data_split: 0.2, output_path: null },
            train: { task_type: "train", data_split: 0.2, output_path: "s3://models/churn/rf" },
          },
        },
      });
      const [prepare, train] = workflow.steps;
      expect(prepare).toMatchObject({
        step_id: "prepare",
        depends_on: [],
        job: {
          model_type: "logistic_regression",
          epochs: 2,
          tasks: 1,
          dataset: { dataset_id: "iris" },
          resources: { cpu_cores: 1, memory_gb: 0.5 },
        },
      });
      expect(train).toMatchObject({
        step_id: "train",
        depends_on: ["prepare"],
        job: {
          model_type: "random_forest",
          hyperparameters: { n_trees: 5 },
          tasks: 2,
          resources: { cpu_cores: 2, memory_gb: 2 },
        },
      });
    }
  });

  it("refuses a manifest with an unknown field or a bad value, naming its path in the YAML", async () => {
    const typo = await postYaml(MANIFEST.replace("dependsOn:", "dependsOnn:"));
    expect(typo.status).toBe(400);
    expect(typo.body.errors).toEqual([
      { path: "/spec/stages/1/dependsOnn", message: "unknown field" },
    ]);
    const model = await postYaml(MANIFEST.replace("type: random_forest", "type: random_frost"));
    expect(model.status).toBe(400);
    expect(model.body.errors).toEqual([
      expect.objectContaining({ path: "/spec/stages/1/model/type" }),
    ]);
    const hyper = await postYaml(MANIFEST.replace("n_trees: 5", "n_trees: 0"));
    expect(hyper.body.errors).toEqual([
      expect.objectContaining({ path: "/spec/stages/1/model/hyperparameters/n_trees" }),
    ]);
    const unknownStage = await postYaml(MANIFEST.replace("[prepare]", "[prep]"));
    expect(unknownStage.body.errors).toEqual([
      { path: "/spec/stages/1/dependsOn/0", message: "no step 'prep'" },
    ]);
    const broken = await postYaml("metadata: [unclosed\n");
    expect(broken.status).toBe(400);
    expect(broken.body.errors[0].message).toMatch(/^line \d+, column \d+/);
  });
});
