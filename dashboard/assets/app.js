// Entry point of the standalone page: the whole dashboard mounted on <body> with the settings
// of config.js. A host app mounts it itself instead (mount.js, docs/dashboard.md § Embedding).

import { mount } from "./mount.js";

mount(document.body, window.JOBS_CONFIG || {});
