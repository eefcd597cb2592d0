# Troupe process image: runs `troupe start` from the TypeScript sources via tsx.
FROM node:22-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY bin ./bin
COPY src ./src
# nats.conf (for an embedded nats-server) includes deploy/accounts.conf.
COPY nats.conf tsconfig.json ./
COPY deploy/accounts.conf ./deploy/
ENV NODE_ENV=production LOG_PRETTY=0
EXPOSE 8080
USER node
ENTRYPOINT ["node", "bin/troupe.js"]
CMD ["start"]
