# The README's program (examples/counters/src/node.ts) in an image: build the workspace, then
# run the node as PID 1, so that Kubernetes' SIGTERM reaches its graceful stop.
#   docker build -t sworm-counters . && kubectl apply -f deploy/kubernetes/
FROM node:20-slim AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund && npx turbo run build --output-logs=errors-only \
  && npm prune --omit=dev --no-audit --no-fund

FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
USER node
EXPOSE 4001
CMD ["node", "examples/counters/dist/node.js"]
