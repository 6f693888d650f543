{{- define "ebs.tags" -}}
{{- $tags := list -}}
{{- range $k, $v := . }}{{ $tags = append $tags (printf "%s=%s" $k $v) }}{{ end -}}
{{- join "," $tags -}}
{{- end -}}
