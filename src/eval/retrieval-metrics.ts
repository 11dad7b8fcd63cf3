/**
 * Cross-image retrieval metrics for instance embeddings (re-identification
 * style). Embedding i (row i of a row-major [n, dim] array) has an identity
 * (< 0: unlabelled) and a group (the image it came from).
 *
 * - Similarity is cosine: every vector is normalised; a zero vector has
 *   similarity 0 to everything. Embeddings must be finite.
 * - Query i's gallery is every j with groups[j] !== groups[i] and
 *   identities[j] >= 0 (so never i itself, nor anything from its image). The
 *   gallery is ranked by decreasing similarity, ties by lower index.
 * - A query counts when identities[i] >= 0 and its gallery holds at least one
 *   item of the same identity (the relevant items).
 * - top1 = fraction of counted queries whose first-ranked gallery item has
 *   the query's identity.
 * - AP of a query = mean over its relevant items of the precision at their
 *   rank (relevant items up to and including it / rank); mAP = mean AP over
 *   counted queries.
 * - With no counted query, top1 and mAP are NaN and queries is 0.
 *
 * Cost is O(n² · dim) time and O(n · dim) memory: similarities are computed a
 * few query rows at a time, never as an n × n matrix.
 */

export interface RetrievalResult {
  top1: number;
  mAP: number;
  /** Number of counted queries. */
  queries: number;
}

export function retrievalMetrics(embeddings: Float32Array, dim: number, identities: Int32Array, groups: Int32Array): RetrievalResult {
  const n = identities.length;
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`dim must be a positive integer, got ${dim}`);
  if (groups.length !== n) throw new Error(`groups (${groups.length}) and identities (${n}) differ in length`);
  if (embeddings.length !== n * dim) {
    throw new Error(`embeddings hold ${embeddings.length} values, expected n * dim = ${n * dim}`);
  }

  // Unit vectors (zero vectors stay zero).
  const unit = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    let ss = 0;
    for (let d = 0; d < dim; d++) ss += embeddings[o + d] * embeddings[o + d];
    if (ss > 0) {
      const inv = 1 / Math.sqrt(ss);
      for (let d = 0; d < dim; d++) unit[o + d] = embeddings[o + d] * inv;
    }
  }

  // Labelled items and, per identity, how many lie in each group.
  const gallery: number[] = []; // labelled items, in index order
  const perIdentity = new Map<number, { total: number; byGroup: Map<number, number> }>();
  for (let j = 0; j < n; j++) {
    const id = identities[j];
    if (id < 0) continue;
    gallery.push(j);
    let e = perIdentity.get(id);
    if (!e) {
      e = { total: 0, byGroup: new Map() };
      perIdentity.set(id, e);
    }
    e.total++;
    e.byGroup.set(groups[j], (e.byGroup.get(groups[j]) ?? 0) + 1);
  }
  const queryList: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = identities[i];
    if (id < 0) continue;
    const e = perIdentity.get(id)!;
    if (e.total - (e.byGroup.get(groups[i]) ?? 0) > 0) queryList.push(i);
  }
  if (queryList.length === 0) return { top1: Number.NaN, mAP: Number.NaN, queries: 0 };

  // Gallery (labelled items, in index order) packed contiguously; k indexes it.
  const gn = gallery.length;
  const gv = new Float64Array(gn * dim);
  const gId = new Int32Array(gn);
  const gGroup = new Int32Array(gn);
  for (let k = 0; k < gn; k++) {
    const j = gallery[k];
    gv.set(unit.subarray(j * dim, j * dim + dim), k * dim);
    gId[k] = identities[j];
    gGroup[k] = groups[j];
  }
  // Gallery positions of each identity, ascending.
  const byIdentity = new Map<number, number[]>();
  for (let k = 0; k < gn; k++) {
    const list = byIdentity.get(gId[k]);
    if (list) list.push(k);
    else byIdentity.set(gId[k], [k]);
  }

  // Similarities for 4 queries at a time, over gallery pairs (a 4 x 2 register tile).
  const sims = new Float64Array(4 * gn);
  const relSim = new Float64Array(gn);
  const relK = new Int32Array(gn);
  const relOrder = new Int32Array(gn);
  const rs = new Float64Array(gn); // relevant similarities / gallery positions in rank order
  const rk = new Int32Array(gn);
  const counts = new Int32Array(gn + 1);
  let hits = 0;
  let apSum = 0;

  for (let q0 = 0; q0 < queryList.length; q0 += 4) {
    const nb = Math.min(4, queryList.length - q0);
    const o0 = queryList[q0] * dim;
    const o1 = queryList[q0 + Math.min(1, nb - 1)] * dim;
    const o2 = queryList[q0 + Math.min(2, nb - 1)] * dim;
    const o3 = queryList[q0 + Math.min(3, nb - 1)] * dim;
    for (let k = 0; k < gn; k += 2) {
      const ga = k * dim;
      const gb = k + 1 < gn ? ga + dim : ga;
      let a0 = 0,
        a1 = 0,
        a2 = 0,
        a3 = 0,
        b0 = 0,
        b1 = 0,
        b2 = 0,
        b3 = 0;
      for (let d = 0; d < dim; d++) {
        const va = gv[ga + d];
        const vb = gv[gb + d];
        const x0 = unit[o0 + d];
        const x1 = unit[o1 + d];
        const x2 = unit[o2 + d];
        const x3 = unit[o3 + d];
        a0 += x0 * va;
        a1 += x1 * va;
        a2 += x2 * va;
        a3 += x3 * va;
        b0 += x0 * vb;
        b1 += x1 * vb;
        b2 += x2 * vb;
        b3 += x3 * vb;
      }
      sims[k] = a0;
      sims[gn + k] = a1;
      sims[2 * gn + k] = a2;
      sims[3 * gn + k] = a3;
      if (k + 1 < gn) {
        sims[k + 1] = b0;
        sims[gn + k + 1] = b1;
        sims[2 * gn + k + 1] = b2;
        sims[3 * gn + k + 1] = b3;
      }
    }

    for (let b = 0; b < nb; b++) {
      const qi = queryList[q0 + b];
      const qid = identities[qi];
      const qg = groups[qi];
      const row = b * gn;

      // Relevant items (same identity, other image) in rank order.
      const sameId = byIdentity.get(qid)!;
      let nRel = 0;
      for (const k of sameId) {
        if (gGroup[k] === qg) continue;
        relSim[nRel] = sims[row + k];
        relK[nRel] = k;
        relOrder[nRel] = nRel;
        nRel++;
      }
      const order = relOrder.subarray(0, nRel);
      order.sort((x, y) => relSim[y] - relSim[x] || relK[x] - relK[y]);
      for (let r = 0; r < nRel; r++) {
        rs[r] = relSim[order[r]];
        rk[r] = relK[order[r]];
      }

      // Every other gallery item is placed among them by binary search:
      // counts[p] = items with exactly p relevant items ranked before them, so
      // rank(relevant r) = r + 1 + counts[0] + ... + counts[r]. Items below
      // every relevant one change neither AP nor top-1 and are skipped.
      const last = rs[nRel - 1];
      counts.fill(0, 0, nRel);
      for (let k = 0; k < gn; k++) {
        const s = sims[row + k];
        if (s < last || gGroup[k] === qg || gId[k] === qid) continue;
        let lo = 0;
        let hi = nRel;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (rs[mid] > s || (rs[mid] === s && rk[mid] < k)) lo = mid + 1;
          else hi = mid;
        }
        counts[lo]++;
      }
      if (counts[0] === 0) hits++; // nothing ranks above the first relevant item
      let before = 0;
      let ap = 0;
      for (let r = 0; r < nRel; r++) {
        before += counts[r];
        ap += (r + 1) / (r + 1 + before);
      }
      apSum += ap / nRel;
    }
  }

  const queries = queryList.length;
  return { top1: hits / queries, mAP: apSum / queries, queries };
}
