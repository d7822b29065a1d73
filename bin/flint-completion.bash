# flint-completion.bash -- bash completion for bin/flint (beyond Flink, which has none):
#   . bin/flint-completion.bash        (or copy it to /etc/bash_completion.d/flint)
# Completes the actions, each action's options, bundles (*.so) for run/info, directories for
# savepoint paths, and configuration keys after -D (the keys flint-conf.yaml documents:
# $FLINT_CONF_DIR's, else the one shipped next to this script).
_flint() {
    local cur prev action i
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            run | info | list | cancel | savepoint | stop) action=${COMP_WORDS[i]}; break ;;
        esac
    done
    case "$prev" in
        -D)
            local conf
            conf="$(dirname -- "${BASH_SOURCE[0]}")/../conf/flint-conf.yaml"
            [ -f "${FLINT_CONF_DIR:-}/flint-conf.yaml" ] && conf="$FLINT_CONF_DIR/flint-conf.yaml"
            mapfile -t COMPREPLY < <(compgen -W "$(sed -n 's/^#\{0,1\} *\([a-z][a-z0-9.-]*\):.*/\1=/p' "$conf" 2>/dev/null)" -- "$cur")
            compopt -o nospace 2>/dev/null
            return ;;
        -s | --fromSavepoint | -p | --savepointPath | -d | --dispose)
            if [ "$prev" != -p ] || [ "$action" = stop ]; then
                if [ "$prev" != -d ] || [ "$action" = savepoint ]; then
                    mapfile -t COMPREPLY < <(compgen -d -- "$cur")
                    return
                fi
            fi ;;
        -m | --jobmanager | -c | --class) return ;;
    esac
    if [ -z "${action:-}" ]; then
        mapfile -t COMPREPLY < <(compgen -W "run info list cancel savepoint stop -m -D -h --help -v --version" -- "$cur")
        return
    fi
    case "$action" in
        run | info)
            if [[ "$cur" == -* ]]; then
                mapfile -t COMPREPLY < <(compgen -W "-d --detached -s --fromSavepoint -n --allowNonRestoredState -c --class -p --parallelism -D" -- "$cur")
            else
                mapfile -t COMPREPLY < <(compgen -f -X '!*.so' -- "$cur"; compgen -d -- "$cur")
            fi ;;
        list) mapfile -t COMPREPLY < <(compgen -W "-r --running -s --scheduled -a --all" -- "$cur") ;;
        savepoint) mapfile -t COMPREPLY < <(compgen -W "-d --dispose" -- "$cur") ;;
        stop) mapfile -t COMPREPLY < <(compgen -W "-p --savepointPath -d --drain" -- "$cur") ;;
    esac
}
complete -F _flint flint
