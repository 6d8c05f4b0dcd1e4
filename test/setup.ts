import '../local/node20.ts';
