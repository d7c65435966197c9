#!/bin/bash
# Checks that the repository stands on its own: every relative Markdown link of a tracked .md file names a file or
# folder inside the repository that exists, and no tracked file points at a path above the repository root
# (a user's clone has nothing there). Exit 1 with one line per problem. Usage: scripts/check_docs.sh (from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd -P)
problems=0

while IFS= read -r -d '' doc; do
  dir=$(dirname "$doc")
  # Inline links and images: ](target) or ](target "title"); the target ends at ')' or a space.
  while IFS= read -r target; do
    case "$target" in
      http://* | https://* | mailto:* | '#'*) continue ;;
    esac
    path=${target%%#*}
    [ -z "$path" ] && continue
    resolved=$(realpath -m "$dir/$path")
    if [[ "$resolved" != "$root" && "$resolved" != "$root"/* ]]; then
      echo "$doc: link '$target' points outside the repository"
      problems=$((problems + 1))
    elif [ ! -e "$resolved" ]; then
      echo "$doc: link '$target' names a path that does not exist"
      problems=$((problems + 1))
    fi
  done < <(grep -oE '\]\([^) ]+' "$doc" | sed 's/^](//')
done < <(git ls-files -z '*.md')

# Any tracked file that names the developers' folder next to the repository.
if git grep -n -I -E '\.\./shared/' -- ':!scripts/check_docs.sh'; then
  echo "the files above point at ../shared, which a clone of the repository does not have"
  problems=$((problems + 1))
fi

if [ "$problems" -gt 0 ]; then
  echo "check_docs: $problems problem(s)"
  exit 1
fi
echo "check_docs: every Markdown link resolves inside the repository"
