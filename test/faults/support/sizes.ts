/**
 * Tasks per fault workflow. Wrapper start-up costs ~0.15 s CPU per task on the 2-core test machine,
 * so a fault run of FAULT_TASKS tasks costs about FAULT_TASKS × 0.15 s of CPU in wrappers alone;
 * JMT_FAULT_TASKS overrides it (e.g. 300 for a heavier run on a bigger machine).
 */
export const FAULT_TASKS = Number(process.env.JMT_FAULT_TASKS ?? 120);
