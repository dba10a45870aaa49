// Where the dashboard finds Appwrite and the action API. The defaults suit the local dev server
// (same origin). For Appwrite, set `endpoint` to your Appwrite API (e.g. https://cloud.example/v1)
// and `project` to the project id (docs/dashboard.md lists every setting).
window.JOBS_CONFIG = {
  endpoint: "/v1",
  project: "jobmanager",
  functionId: "job-actions",
  databaseId: "jobmanager",
  tableId: "jobs",
  eventsTableId: "job_events",
  realtime: true,
  pollMs: 5000,
  resyncMs: 600000,
  basePath: "/jobs",
  signIn: true,
  oauthProviders: [],
  // e.g. "https://cloud.appwrite.io/console/project-{project}/functions/function-{functionId}/execution-{executionId}"
  consoleExecutionUrl: "",
};
