# One image for the API replicas, the Temporal workers and the search-attribute init job
# (docker-compose.yml). Never built here: the development machines have no Docker engine; the same
# processes are run from dist/ by test/faults/scale-out.test.ts.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
COPY examples ./examples
COPY bench ./bench
COPY temporal/search-attributes.json ./temporal/search-attributes.json
RUN npx tsc -p . && node scripts/bundle-wrapper.mjs && npm prune --omit=dev

FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
# Only what runs: compiled JS (dist/ includes temporal/search-attributes.json, imported by the code)
# and production dependencies (the worker's native Temporal bridge comes as a prebuilt binary).
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# JMT_HOME; created here so a named volume mounted on it starts out owned by `node`.
RUN mkdir -p /var/lib/jmt && chown node:node /var/lib/jmt
# Not root: task commands run inside the worker container (add what they need — python3, R — in an
# image built FROM this one; the wrapper itself needs only node).
USER node
CMD ["node", "dist/src/api/main.js"]
