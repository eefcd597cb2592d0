import { useState } from "preact/hooks";
import { signIn } from "../token.ts";

/**
 * Shown instead of any data when the API answers 401: this Troupe has TROUPE_API_TOKEN set. The
 * token goes into this tab's sessionStorage and, from there, only into Authorization headers.
 */
export function SignIn({ refused }: { refused: boolean }) {
  const [token, setToken] = useState("");
  return (
    <section class="sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Sign in</h1>
      <p>This Troupe asks for its API token (TROUPE_API_TOKEN) before it shows anything.</p>
      {refused && (
        <p class="problem" role="alert">
          That token was refused. Check it and try again.
        </p>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (token.trim()) signIn(token.trim());
        }}
      >
        <label>
          API token{" "}
          <input
            type="password"
            name="token"
            autocomplete="current-password"
            value={token}
            onInput={(event) => setToken(event.currentTarget.value)}
            required
          />
        </label>{" "}
        <button type="submit">Sign in</button>
      </form>
      <p class="muted small">
        Kept in this tab only (cleared when it closes) and sent as an Authorization header, never in
        a URL.
      </p>
    </section>
  );
}
