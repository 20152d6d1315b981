// jupyter-config.json (what `npm start` runs JupyterLab with), read by JupyterLab's own config
// loader from .venv: the news prompt is off (it covered widget legends) and the defaults hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

test('JupyterLab reads jupyter-config.json with news off and efflab as the default kernel', () => {
  const script = [
    'import json',
    'from jupyterlab.labapp import LabApp',
    'from traitlets.config.loader import JSONFileConfigLoader',
    "cfg = JSONFileConfigLoader('jupyter-config.json', path='.').load_config()",
    'app = LabApp(config=cfg)',
    "print(json.dumps({'news_url': app.news_url, 'kernel': cfg.MultiKernelManager.default_kernel_name}))",
  ].join('\n');
  const out = execFileSync(path.join(ROOT, '.venv', 'bin', 'python'), ['-c', script], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const seen = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { news_url: unknown; kernel: unknown };
  // news_url None is what makes JupyterLab set page_config.news.disabled and skip the prompt.
  assert.equal(seen.news_url, null);
  assert.equal(seen.kernel, 'efflab');
});
