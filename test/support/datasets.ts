/** Three text classes around separated centres, 4 numeric features, deterministic. */
export function flowersCsv(rows: number): string {
  const lines = ["f1,f2,f3,f4,species"];
  const names = ["setosa", "versicolor", "virginica"];
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let r = 0; r < rows; r++) {
    const c = r % 3;
    const cells = [0, 1, 2, 3].map((j) => (c * 3 + j * 0.5 + (rand() - 0.5) * 2).toFixed(3));
    lines.push(`${cells.join(",")},${names[c]}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Uploads a CSV body as a data set named `name` over HTTP (`query`: more of the query string). */
export async function uploadCsv(
  base: string,
  name: string,
  csv: string | Uint8Array,
  query = "",
): Promise<Response> {
  return fetch(`${base}/api/v1/datasets?name=${encodeURIComponent(name)}${query}`, {
    method: "POST",
    headers: { "content-type": "text/csv" },
    body: csv,
  });
}
