import type { Child } from 'hono/jsx';

/** Properties of {@link Layout}. */
export interface LayoutProps {
  /** The page title (shown in the tab after "sentcopy"). */
  readonly title: string;
  /** The signed-in user, shown in the header with a sign-out button. */
  readonly user?: string;
  /** Style sheets under /assets/ the page needs beyond the base one, e.g. `message.css`. */
  readonly styles?: readonly string[];
  /** Scripts under /assets/ the page needs (the viewer's CSP allows only same-origin scripts). */
  readonly scripts?: readonly string[];
  readonly children?: Child;
}

/** The frame of every viewer page: header with navigation, then the page. Text is escaped by hono/jsx. */
export function Layout({ title, user, styles = [], scripts = [], children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${title} · sentcopy`}</title>
        <link rel="stylesheet" href="/assets/viewer.css" />
        {styles.map((name) => (
          <link rel="stylesheet" href={`/assets/${name}`} />
        ))}
        {scripts.map((name) => (
          <script src={`/assets/${name}`} defer />
        ))}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/">
            sentcopy
          </a>
          <nav aria-label="Main">
            <a href="/">Search</a>
            <a href="/access-log">Access log</a>
          </nav>
          {user === undefined ? null : (
            <span class="user">
              <span>Signed in as {user}</span>
              <form method="post" action="/sign-out">
                <button type="submit" class="link">
                  Sign out
                </button>
              </form>
            </span>
          )}
        </header>
        <main id="main">{children}</main>
      </body>
    </html>
  );
}
