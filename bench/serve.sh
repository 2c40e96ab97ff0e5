#!/bin/sh
# Serves a workload folder (tidings workload, or shared/bench/feedgen.py) with nginx on
# loopback, as real sites serve feeds: ETag, Last-Modified, 304 and gzip.
#   bench/serve.sh start DIR [PORT]   (default port 8088)
#   bench/serve.sh stop DIR
#   ACCESS_LOG=FILE bench/serve.sh start ...   logs every request there (default: off)
set -e
cmd=$1; dir=$(cd "$2" && pwd); port=${3:-8088}
conf="$dir/nginx.conf"
case "$cmd" in
start)
  command -v nginx >/dev/null || { echo "nginx is missing: apt-get install -y nginx-light" >&2; exit 1; }
  mkdir -p "$dir/nginx"
  # nginx workers must read DIR, which may be private to root.
  user=""; [ "$(id -u)" = 0 ] && user="user root;"
  cat >"$conf" <<CONF
$user
worker_processes 2;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log ${ACCESS_LOG:-off};
  client_body_temp_path $dir/nginx; proxy_temp_path $dir/nginx; fastcgi_temp_path $dir/nginx;
  uwsgi_temp_path $dir/nginx; scgi_temp_path $dir/nginx;
  types { application/rss+xml xml; text/plain txt; text/x-opml opml; }
  gzip on; gzip_types application/rss+xml; gzip_min_length 1024;
  keepalive_requests 100000;
  server { listen 127.0.0.1:$port; root $dir; etag on; }
}
CONF
  nginx -c "$conf" -e "$dir/nginx/error.log"
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1])" \
      "http://127.0.0.1:$port/urls.txt" 2>/dev/null && exit 0
    sleep 0.2
  done
  echo "nginx did not answer on $port" >&2; exit 1 ;;
stop)
  [ -f "$dir/nginx/nginx.pid" ] && kill "$(cat "$dir/nginx/nginx.pid")" || true ;;
*) echo "usage: bench/serve.sh start|stop DIR [PORT]" >&2; exit 2 ;;
esac
