// Where the dashboard finds the action API. The defaults suit the local dev server (same
// origin). For Appwrite, set `endpoint` to your Appwrite API (e.g. https://cloud.example/v1),
// `project` to the project id, and `realtime: true` to get pushed updates (docs/dashboard.md).
window.JOBS_CONFIG = {
  endpoint: "/v1",
  project: "jobmanager",
  functionId: "job-actions",
  databaseId: "jobmanager",
  tableId: "jobs",
  realtime: false,
  pollMs: 5000,
};
