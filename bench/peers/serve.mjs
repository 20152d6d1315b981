// Line protocol shared by the peer servers: one JSON command per stdin line, one JSON reply per stdout
// line, each reply carrying the process's peak RSS (MB). Errors are replied as {"error": "..."}.
import { createInterface } from 'node:readline';

export const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

/** Wall and CPU time (ms) of an async function; CPU counts every thread of this process. */
export async function timed(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000, value };
}

/** Serve `handlers[cmd.cmd](cmd)` for each stdin line until stdin closes. */
export async function serve(handlers) {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let reply;
    try {
      const cmd = JSON.parse(line);
      const h = handlers[cmd.cmd];
      if (!h) throw new Error(`unknown command '${cmd.cmd}'`);
      reply = await h(cmd);
    } catch (e) {
      reply = { error: e instanceof Error ? `${e.message}` : String(e) };
    }
    process.stdout.write(JSON.stringify({ ...reply, peak_rss_mb: peakRssMb() }) + '\n');
  }
  process.exit(0); // stdin closed: the bench is done with this peer (native thread pools must not keep it alive)
}
