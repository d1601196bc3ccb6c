// live-udp.mjs: UDP test traffic for the live-interface guide.
//   node live-udp.mjs send <dst ip> <port> <count> <ttl>   sends count datagrams with that TTL
//   node live-udp.mjs recv <port> <ms>                      prints how many arrived within ms
import { createSocket } from 'node:dgram';

const [cmd, ...args] = process.argv.slice(2);
const sock = createSocket('udp4');
if (cmd === 'send') {
  const [dst, port, count, ttl] = [args[0], Number(args[1]), Number(args[2]), Number(args[3])];
  sock.bind(() => {
    sock.setTTL(ttl);
    let left = count;
    const next = () => (left-- > 0 ? sock.send(Buffer.from(`ping ${left}`), port, dst, next) : sock.close());
    next();
  });
} else {
  let n = 0;
  sock.on('message', () => n++);
  sock.bind(Number(args[0]), () => setTimeout(() => (console.log(JSON.stringify({ received: n })), sock.close()), Number(args[1])));
}
