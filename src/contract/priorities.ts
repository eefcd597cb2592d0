/** The priority lanes, most urgent first (DESIGN §2.1). */
export const PRIORITIES = ["urgent", "high", "normal", "low"] as const;
export type Priority = (typeof PRIORITIES)[number];
