// This deployment's settings: only what differs from the defaults, which are written once, in
// assets/api.js (`defaults`); docs/dashboard.md § Configuration lists every setting. The local
// dev server needs none. On Appwrite, set at least `endpoint` and `project`, for example:
window.JOBS_CONFIG = {
  // endpoint: "https://appwrite.example.com/v1",
  // project: "<your project id>",
  // consoleExecutionUrl: "https://cloud.appwrite.io/console/project-{project}/functions/function-{functionId}/execution-{executionId}",
};
