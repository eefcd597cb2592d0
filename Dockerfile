# Troupe process image: runs the bundled CLI (scripts/bundle.ts), which starts on about a fifth of
# the CPU the TypeScript sources through tsx need: what a replacement process costs after a crash.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY scripts/bundle.ts ./scripts/
COPY src ./src
COPY web ./web
RUN npx tsx scripts/bundle.ts dist/bundle

FROM node:22-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# The packages the bundle leaves outside (piscina, pino, Swagger UI's files, msgpackr, esbuild).
RUN npm ci --omit=dev
COPY --from=build /app/dist/bundle ./dist/bundle
# The dashboard, bundled at build: the image has no web/ sources to bundle it from.
COPY --from=build /app/dist/web ./dist/web
# nats.conf (for an embedded nats-server) includes deploy/accounts.conf.
COPY nats.conf ./
COPY deploy/accounts.conf ./deploy/
ENV NODE_ENV=production LOG_PRETTY=0
EXPOSE 8080
USER node
ENTRYPOINT ["node", "dist/bundle/troupe.js"]
CMD ["start"]
