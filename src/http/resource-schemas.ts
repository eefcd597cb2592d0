import Type from "typebox";

/** The availability route's reply (DESIGN §5.4), with an example for /docs. */
const ResourcesSchema = Type.Object({
  cpu_cores: Type.Number({ description: "Slots (a 2-core task holds two)." }),
  memory_gb: Type.Number(),
  gpu_count: Type.Number(),
});

const UseFields = {
  total: ResourcesSchema,
  allocated: Type.Object(ResourcesSchema.properties, {
    description: "Held by running tasks (a task within 1 core, 1 GB, no GPU holds one slot).",
  }),
  free: Type.Object(ResourcesSchema.properties, { description: "total − allocated." }),
};

const EXAMPLE = {
  cluster: {
    workers: 2,
    total: { cpu_cores: 6, memory_gb: 48, gpu_count: 1 },
    allocated: { cpu_cores: 2, memory_gb: 4, gpu_count: 1 },
    free: { cpu_cores: 4, memory_gb: 44, gpu_count: 0 },
  },
  workers: [
    {
      worker_id: "gpu-box-4121-a1b2c3",
      status: "BUSY",
      services: null,
      labels: { zone: "a" },
      total: { cpu_cores: 2, memory_gb: 32, gpu_count: 1 },
      allocated: { cpu_cores: 2, memory_gb: 4, gpu_count: 1 },
      free: { cpu_cores: 0, memory_gb: 28, gpu_count: 0 },
    },
    {
      worker_id: "cpu-box-977-d4e5f6",
      status: "IDLE",
      services: ["logistic_regression", "random_forest"],
      labels: {},
      total: { cpu_cores: 4, memory_gb: 16, gpu_count: 0 },
      allocated: { cpu_cores: 0, memory_gb: 0, gpu_count: 0 },
      free: { cpu_cores: 4, memory_gb: 16, gpu_count: 0 },
    },
  ],
};

export const ResourceAvailabilitySchema = Type.Object(
  {
    cluster: Type.Object({
      workers: Type.Integer({ description: "Live workers counted (stale ones are left out)." }),
      ...UseFields,
    }),
    workers: Type.Array(
      Type.Object({
        worker_id: Type.String(),
        status: Type.String(),
        services: Type.Union([Type.Array(Type.String()), Type.Null()], {
          description: "WORKER_SERVICES; null: every service.",
        }),
        labels: Type.Record(Type.String(), Type.String(), { description: "WORKER_LABELS." }),
        ...UseFields,
      }),
    ),
  },
  { examples: [EXAMPLE] },
);
