// A JavaScript handler with heavy module-scope init: it builds its lookup tables when the module is evaluated, as
// many real functions load a model or a catalogue. On Lambda that work is the Init phase of every cold start; here
// too, unless a snapshot (the SnapStart analog) restores the state after it.

// 100,000 users and their scores, built once per execution environment.
const SCORES = new Map();
for (let i = 0; i < 100_000; i++) {
  SCORES.set(`user-${String(i).padStart(6, '0')}`, (i * 2654435761) % 1_000_003);
}

function sieve(limit) {
  const composite = new Uint8Array(limit + 1);
  const primes = [];
  for (let n = 2; n <= limit; n++) {
    if (!composite[n]) {
      primes.push(n);
      for (let m = n * n; m <= limit; m += n) composite[m] = 1;
    }
  }
  return primes;
}

const PRIMES = sieve(200_000);

export const handler = async (event) => {
  const user = (event && event.user) || 'user-000042';
  return {
    statusCode: 200,
    body: JSON.stringify({ user, score: SCORES.get(user) ?? null, primes_below_200k: PRIMES.length }),
  };
};
