// Child process of the benchmark: the bare Apollo Server of bare-apollo.ts, the yardstick for the
// gateway's warm path. Prints its URL as one JSON line, then serves until SIGTERM.
import { startBareApollo } from './bare-apollo.ts';

const bare = await startBareApollo();
process.stdout.write(`${JSON.stringify({ url: bare.url })}\n`);
process.on('SIGTERM', () => void bare.stop().then(() => process.exit(0)));
