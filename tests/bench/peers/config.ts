/** The peers' settings, shared by their child scripts and the report (importing a child script would run it). */
export const graphileWorkerConfig = { concurrentJobs: 24, maxPoolSize: 25, localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 };
export const bullmqWorkerConcurrency = 24;
