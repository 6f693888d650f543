{{- define "lbc.sa" -}}
{{- default "aws-load-balancer-controller" .Values.serviceAccount.name -}}
{{- end -}}
{{/* Like upstream: a self-signed webhook certificate unless one is given in webhookTLS. */}}
{{- define "lbc.tls" -}}
{{- if .Values.webhookTLS.cert -}}
{{- dict "ca" .Values.webhookTLS.caCert "cert" .Values.webhookTLS.cert "key" .Values.webhookTLS.key | toYaml -}}
{{- else -}}
{{- $svc := printf "aws-load-balancer-webhook-service.%s.svc" .Release.Namespace -}}
{{- $ca := genCA "aws-load-balancer-controller-ca" 3650 -}}
{{- $cert := genSignedCert $svc nil (list $svc) 3650 $ca -}}
{{- dict "ca" $ca.Cert "cert" $cert.Cert "key" $cert.Key | toYaml -}}
{{- end -}}
{{- end -}}
